/**
 * Draws the history panel's chart models with Chart.js (bundled; no eval, no injected styles, so
 * it runs under the webview's strict CSP), in the editor theme's colours, and reports back the
 * data each chart holds (what it drew), which the panel exposes for tests.
 */
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  type ChartConfiguration,
  type ChartDataset,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
  type TooltipItem,
} from 'chart.js';
import { bucketLabel, formatAxis, type ChartModel, type Unit } from '../../views/history';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, LineController, LineElement, PointElement, Legend, Tooltip);

export interface Theme {
  /** a theme colour variable's value, e.g. `--vscode-charts-blue` → `#3794ff` */
  color(name: string): string;
  foreground: string;
  muted: string;
  grid: string;
  fontFamily: string;
  fontSize: number;
}

const FALLBACKS: Record<string, string> = {
  '--vscode-charts-blue': '#3794ff',
  '--vscode-charts-orange': '#d18616',
  '--vscode-charts-green': '#89d185',
  '--vscode-charts-purple': '#b180d7',
  '--vscode-charts-red': '#f14c4c',
  '--vscode-charts-yellow': '#cca700',
  '--vscode-charts-foreground': '#cccccc',
  '--vscode-foreground': '#cccccc',
  '--vscode-descriptionForeground': '#9d9d9d',
  '--vscode-charts-lines': 'rgba(128, 128, 128, 0.3)',
};

/** The theme as the webview's CSS variables say now (VS Code sets them on the document). */
export function readTheme(doc: Document): Theme {
  const style = doc.defaultView?.getComputedStyle(doc.documentElement);
  const value = (name: string): string => style?.getPropertyValue(name).trim() || FALLBACKS[name] || '#888888';
  return {
    color: value,
    foreground: value('--vscode-foreground'),
    muted: value('--vscode-descriptionForeground'),
    grid: value('--vscode-charts-lines'),
    fontFamily: style?.getPropertyValue('--vscode-font-family').trim() || 'sans-serif',
    fontSize: parseFloat(style?.getPropertyValue('--vscode-font-size') ?? '') || 12,
  };
}

function axis(unit: Unit, theme: Theme, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    beginAtZero: true,
    grid: { color: theme.grid },
    border: { color: theme.grid },
    ticks: { color: theme.muted, callback: (v: number | string) => formatAxis(Number(v), unit) },
    ...extra,
  };
}

function tooltipLabel(unitOf: (axisId: string) => Unit) {
  return (item: TooltipItem<'bar' | 'line'>): string => {
    const raw = item.raw as number | { y: number } | null;
    const value = typeof raw === 'number' ? raw : (raw?.y ?? 0);
    return `${item.dataset.label}: ${formatAxis(value, unitOf((item.dataset as { yAxisID?: string }).yAxisID ?? 'y'))}`;
  };
}

/** The Chart.js configuration of a chart model in a theme. Pure. */
export function chartConfig(model: ChartModel, theme: Theme): ChartConfiguration<'bar' | 'line'> {
  const legend = { position: 'bottom' as const, labels: { color: theme.foreground, boxWidth: 12 } };
  const font = { family: theme.fontFamily, size: theme.fontSize };
  if (model.kind === 'time') {
    const datasets: ChartDataset<'line'>[] = model.series.map((s) => ({
      type: 'line',
      label: s.label,
      data: s.points.map((p) => ({ x: p.x, y: p.y })),
      borderColor: theme.color(s.color),
      backgroundColor: theme.color(s.color),
      pointRadius: 2.5,
      borderWidth: 2,
      tension: 0,
    }));
    const day = (v: number | string): string => {
      const d = new Date(Number(v));
      return `${bucketLabel(`${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`)}`;
    };
    return {
      type: 'line',
      data: { datasets },
      options: {
        animation: false,
        maintainAspectRatio: false,
        font,
        parsing: false,
        normalized: true,
        scales: {
          x: { type: 'linear', min: model.min, max: model.max, grid: { color: theme.grid }, border: { color: theme.grid }, ticks: { color: theme.muted, maxTicksLimit: 10, callback: day } },
          y: axis('pct', theme, { min: 0, suggestedMax: 100 }),
        },
        plugins: {
          legend,
          tooltip: { callbacks: { title: (items) => (items[0] ? new Date(Number(items[0].parsed.x)).toLocaleString() : ''), label: tooltipLabel(() => 'pct') } },
        },
      },
    } as ChartConfiguration<'bar' | 'line'>;
  }
  const datasets = model.series.map((s) => {
    const color = theme.color(s.color);
    const common = { label: s.label, data: s.values, yAxisID: s.axis === 'right' ? 'y2' : 'y', backgroundColor: color, borderColor: color };
    return s.type === 'line'
      ? ({ ...common, type: 'line', borderWidth: 2, pointRadius: 3, spanGaps: false, order: -1 } as ChartDataset<'line'>)
      : ({ ...common, type: 'bar', stack: 'all', borderWidth: 0, maxBarThickness: 28 } as ChartDataset<'bar'>);
  });
  const scales: Record<string, unknown> = {
    x: { stacked: model.stacked, grid: { display: false }, border: { color: theme.grid }, ticks: { color: theme.muted, maxRotation: 0, autoSkip: true, callback(this: { getLabelForValue(v: number): string }, v: number | string) { return bucketLabel(this.getLabelForValue(Number(v))); } } },
    y: axis(model.left, theme, { stacked: model.stacked }),
  };
  if (model.right) scales.y2 = axis(model.right, theme, { position: 'right', min: 0, max: 100, stacked: false, grid: { drawOnChartArea: false } });
  const unitOf = (id: string): Unit => (id === 'y2' && model.right ? model.right : model.left);
  return {
    type: 'bar',
    data: { labels: model.labels, datasets: datasets as ChartDataset<'bar'>[] },
    options: {
      animation: false,
      maintainAspectRatio: false,
      font,
      interaction: { mode: 'index', intersect: false },
      scales,
      plugins: { legend, tooltip: { callbacks: { title: (items) => (items[0] ? bucketLabel(String(items[0].label)) : ''), label: tooltipLabel(unitOf) } } },
    },
  } as ChartConfiguration<'bar' | 'line'>;
}

/** What a chart holds after drawing: its labels and, per dataset, its data and drawn elements. */
export interface Drawn {
  id: string;
  labels: unknown[];
  datasets: { key: string; label: string; type: string; data: unknown[]; drawn: number; hidden: boolean }[];
}

export interface Painter {
  draw(canvas: HTMLCanvasElement, model: ChartModel): Drawn;
}

export class ChartJsPainter implements Painter {
  private readonly charts = new Map<HTMLCanvasElement, Chart<'bar' | 'line'>>();

  draw(canvas: HTMLCanvasElement, model: ChartModel): Drawn {
    const theme = readTheme(canvas.ownerDocument);
    Chart.defaults.color = theme.foreground;
    Chart.defaults.font.family = theme.fontFamily;
    const config = chartConfig(model, theme);
    let chart = this.charts.get(canvas);
    if (chart) {
      chart.data = config.data;
      chart.options = config.options ?? {};
      chart.update('none');
    } else {
      chart = new Chart(canvas, config);
      this.charts.set(canvas, chart);
    }
    const keys = model.series.map((s) => s.key);
    return {
      id: model.id,
      labels: [...(chart.data.labels ?? [])],
      datasets: chart.data.datasets.map((d, i) => ({
        key: keys[i],
        label: String(d.label ?? ''),
        type: String((d as { type?: string }).type ?? config.type),
        data: [...d.data],
        drawn: chart!.getDatasetMeta(i).data.length,
        hidden: !chart!.isDatasetVisible(i),
      })),
    };
  }
}

import { describe, expect, it } from 'vitest';
import { answerQuery, parseFromHistory } from '../../src/common/historyQuery';
import { costChart, planChart, tokensChart } from '../../src/views/history';
import { chartConfig, type Theme } from '../../src/webview/history/charts';
import { history, inUtc } from './historyFixtures';

const theme: Theme = {
  color: (name) => `color(${name})`,
  foreground: 'fg',
  muted: 'muted',
  grid: 'grid',
  fontFamily: 'Test Sans',
  fontSize: 13,
};

inUtc();

type Scale = { stacked?: boolean; min?: number; max?: number; position?: string; type?: string; ticks: { callback: (v: number) => string; color: string } };

describe('Chart.js configuration', () => {
  it('stacks the daily cost bars in the theme colours, with dollar ticks and no animation', () => {
    const model = costChart(history('model'));
    const config = chartConfig(model, theme);
    expect(config.type).toBe('bar');
    expect(config.data.labels).toEqual(model.labels);
    expect(config.data.datasets.map((d) => d.label)).toEqual(model.series.map((s) => s.label));
    expect(config.data.datasets.map((d) => d.data)).toEqual(model.series.map((s) => s.values));
    expect(config.data.datasets[0]).toMatchObject({ type: 'bar', stack: 'all', backgroundColor: 'color(--vscode-charts-blue)' });
    const scales = config.options!.scales as Record<string, Scale>;
    expect(scales.x.stacked).toBe(true);
    expect(scales.y.stacked).toBe(true);
    expect(scales.y.ticks.callback(2.5)).toBe('$2.50');
    expect(scales.y.ticks.color).toBe('muted');
    expect(scales.y2).toBeUndefined();
    expect(config.options!.animation).toBe(false);
    expect(config.options!.font).toEqual({ family: 'Test Sans', size: 13 });
  });

  it('puts the cache hit rate line on a 0–100% right axis over the token bars', () => {
    const config = chartConfig(tokensChart(history('model')), theme);
    const line = config.data.datasets.at(-1)!;
    expect(line).toMatchObject({ type: 'line', label: 'Cache hit rate', yAxisID: 'y2' });
    const scales = config.options!.scales as Record<string, Scale>;
    expect(scales.y2).toMatchObject({ position: 'right', min: 0, max: 100, stacked: false });
    expect(scales.y.ticks.callback(1_500_000)).toBe('1.5M');
    expect(scales.y2.ticks.callback(80)).toBe('80%');
  });

  it('draws the plan windows as lines on a time axis spanning the range', () => {
    const model = planChart(history('model'));
    const config = chartConfig(model, theme);
    expect(config.type).toBe('line');
    const scales = config.options!.scales as Record<string, Scale>;
    expect(scales.x).toMatchObject({ type: 'linear', min: model.min, max: model.max });
    expect(scales.x.ticks.callback(Date.UTC(2026, 10, 3, 12))).toBe('Nov 3');
    expect(config.data.datasets.map((d) => d.data)).toEqual(model.series.map((s) => s.points));
    expect(config.data.datasets.map((d) => d.borderColor)).toEqual(['color(--vscode-charts-blue)', 'color(--vscode-charts-purple)']);
  });
});

describe('the host side of a query', () => {
  it('answers a query with the history, or the error, under its seq', async () => {
    const h = history('model');
    let asked: unknown;
    const ok = await answerQuery(async (p) => ((asked = p), h), { type: 'query', seq: 7, params: { groupBy: 'model' } });
    expect(asked).toEqual({ groupBy: 'model' });
    expect(ok).toEqual({ type: 'history', seq: 7, history: h });
    const failed = await answerQuery(async () => {
      throw Object.assign(new Error('since must not be after until'), { code: -32602 });
    }, { type: 'query', seq: 8, params: {} });
    expect(failed).toEqual({ type: 'error', seq: 8, message: 'since must not be after until' });
  });

  it('ignores messages that are not a well-formed ready or query', () => {
    expect(parseFromHistory({ type: 'ready' })).toEqual({ type: 'ready' });
    expect(parseFromHistory({ type: 'query', seq: 1, params: { groupBy: 'agent' } })).toEqual({ type: 'query', seq: 1, params: { groupBy: 'agent' } });
    for (const junk of [null, 'query', { type: 'query', seq: '1', params: {} }, { type: 'query', seq: 1.5, params: {} }, { type: 'query', seq: 1 }, { type: 'exec', seq: 1, params: {} }]) {
      expect(parseFromHistory(junk)).toBeNull();
    }
  });
});

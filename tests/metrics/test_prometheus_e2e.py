"""A real Prometheus (Debian's package) scraping two `podium metrics` with different stores.

The server binary is installed on first use by setup_prometheus.sh (apt-get; skipped with a
clear message where that is impossible) and started here on 127.0.0.1 with a temp config and
data dir, scraping every second.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.metrics.helpers import Feed, free_port, wait_for

from podium.store import Store

PODIUM = [sys.executable, "-m", "podium"]
SETUP = Path(__file__).with_name("setup_prometheus.sh")
DASHBOARD = Path(__file__).parents[2] / "docs" / "grafana-dashboard.json"
SCRAPE_S = 1


@dataclass
class Machine:
    name: str
    db: Path
    claude: Path
    url: str
    feed: Feed
    proc: subprocess.Popen


class Prometheus:
    def __init__(self, url: str) -> None:
        self.url = url

    def api(self, path: str, **params: str) -> dict:
        query = urllib.parse.urlencode(params)
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}?{query}", timeout=10) as resp:
            body = json.load(resp)
        assert body["status"] == "success", body
        return body

    def query(self, expr: str) -> list[dict]:
        body = self.api("query", query=expr)
        assert not body.get("warnings"), body["warnings"]
        return body["data"]["result"]

    def value(self, expr: str) -> float | None:
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else None


@pytest.fixture(scope="module")
def prometheus_bin() -> str:
    try:
        done = subprocess.run(["sh", str(SETUP)], capture_output=True, text=True, timeout=900)
    except subprocess.TimeoutExpired:
        pytest.skip("installing Prometheus (apt-get) took over 15 minutes")
    if done.returncode != 0:
        pytest.skip("Prometheus is not installed and apt-get could not install it: "
                    + (done.stderr.strip().splitlines() or ["?"])[-1])  # fmt: skip
    return done.stdout.strip()


def _report_total(db: Path) -> float:
    out = subprocess.run([*PODIUM, "report", "daily", "--json", "--no-ingest", "--db", str(db)],
                         capture_output=True, text=True, check=True)  # fmt: skip
    return float(json.loads(out.stdout)["totals"]["totalCost"])


@pytest.fixture
def machines(tmp_path: Path) -> Iterator[list[Machine]]:
    out: list[Machine] = []
    now = time.time()
    # machine one has a $1 daily budget; both have spent today, in different projects
    for name, spend, project, settings in (("alpha-box", 0.40, "shop", {"dailyUSD": 1.0}),
                                           ("beta-box", 1.10, "infra", {})):  # fmt: skip
        home = tmp_path / name
        claude = home / "claude"
        (claude / "projects").mkdir(parents=True)
        feed = Feed(claude, Store(home / "writer.db"))  # writes transcripts (own scratch store)
        feed.spend(spend, session=f"s-{name}", cwd=f"/repos/{project}", ts=now - 60)
        (home / "settings.json").write_text(json.dumps({"podium": {"limits": settings}}))
        proc = subprocess.Popen(
            [*PODIUM, "metrics", "--listen", "127.0.0.1:0", "--machine", name,
             "--db", str(home / "podium.db"), "--claude-config-dir", str(claude),
             "--settings", str(home / "settings.json"), "--ingest-every", "0.2"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"serving (http://\S+)", line)
        assert match, line
        out.append(Machine(name, home / "podium.db", claude, match.group(1), feed, proc))
    yield out
    for machine in out:
        machine.proc.terminate()
        machine.proc.wait(15)
        machine.feed.store.close()


@pytest.fixture
def prometheus(prometheus_bin: str, machines: list[Machine], tmp_path: Path) -> Iterator[Prometheus]:
    targets = [m.url.split("//", 1)[1].split("/", 1)[0] for m in machines]
    config = tmp_path / "prometheus.yml"
    config.write_text(json.dumps({  # YAML is a superset of JSON
        "global": {"scrape_interval": f"{SCRAPE_S}s", "scrape_timeout": f"{SCRAPE_S}s"},
        "scrape_configs": [{"job_name": "podium", "static_configs": [{"targets": targets}]}],
    }))  # fmt: skip
    port = free_port()
    log = open(tmp_path / "prometheus.log", "wb")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen([prometheus_bin, f"--config.file={config}",
                             f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                             f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        assert proc.poll() is None, (tmp_path / "prometheus.log").read_text()[-2000:]
        try:
            with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as resp:
                return resp.status == 200
        except OSError:
            return False

    try:
        wait_for(ready, timeout=60, interval=0.2, message="Prometheus ready")
        prom = Prometheus(url)
        wait_for(lambda: len(prom.query('up{job="podium"} == 1')) == 2, timeout=30,
                 interval=0.2, message="both Podium targets up")  # fmt: skip
        yield prom
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()


def test_prometheus_sums_two_machines_and_sees_a_budget_cross_in_one_scrape(
    prometheus: Prometheus, machines: list[Machine]
) -> None:
    alpha = machines[0]
    reports = {m.name: _report_total(m.db) for m in machines}
    assert math.isclose(reports["alpha-box"], 0.40) and math.isclose(reports["beta-box"], 1.10)
    wait_for(lambda: prometheus.value("sum(podium_cost_usd_total)") is not None, timeout=20,
             interval=0.2, message="cost in Prometheus")  # fmt: skip
    assert math.isclose(prometheus.value("sum(podium_cost_usd_total)") or 0,
                        sum(reports.values()), rel_tol=1e-9)  # fmt: skip
    for result in prometheus.query("sum by (machine) (podium_cost_usd_total)"):
        assert math.isclose(float(result["value"][1]), reports[result["metric"]["machine"]],
                            rel_tol=1e-9)  # fmt: skip
    ratio = 'podium_budget_used_ratio{machine="alpha-box",budget="daily"}'
    assert math.isclose(prometheus.value(ratio) or 0, 0.40, rel_tol=1e-9)

    # alpha spends past its daily budget; once its endpoint shows it (the store has it),
    # every later scrape does: the crossing is in the very first scrape after it
    alpha.feed.spend(0.70, session="s-alpha-box", cwd="/repos/shop", ts=time.time() - 1)
    wait_for(lambda: _endpoint_ratio(alpha.url) >= 1.0, timeout=20, interval=0.05,
             message="the crossing on alpha's endpoint")  # fmt: skip
    crossed_at = time.time()
    wait_for(lambda: _samples_after(prometheus, ratio, crossed_at), timeout=10 * SCRAPE_S,
             interval=0.1, message="a scrape after the crossing")  # fmt: skip
    later = _samples_after(prometheus, ratio, crossed_at)
    assert all(math.isclose(v, 1.10, rel_tol=1e-9) for _, v in later), later
    assert math.isclose(prometheus.value("sum(podium_cost_usd_total)") or 0, 0.40 + 0.70 + 1.10,
                        rel_tol=1e-9)  # fmt: skip
    assert math.isclose(_report_total(alpha.db), 1.10)


def _endpoint_ratio(url: str) -> float:
    with urllib.request.urlopen(url, timeout=10) as resp:
        text = resp.read().decode()
    match = re.search(r'^podium_budget_used_ratio\{[^}]*budget="daily"[^}]*\} (\S+)$', text, re.M)
    return float(match.group(1)) if match else 0.0


def _samples_after(prometheus: Prometheus, expr: str, since: float) -> list[tuple[float, float]]:
    """Samples of `expr` from scrapes that started after `since`."""
    result = prometheus.query(f"{expr}[30s]")
    values = result[0]["values"] if result else []
    return [(float(t), float(v)) for t, v in values if float(t) > since]


def test_every_grafana_dashboard_query_runs(prometheus: Prometheus, machines: list[Machine]) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    wait_for(lambda: prometheus.value("count(podium_cost_usd_total)") is not None, timeout=20,
             interval=0.2, message="series in Prometheus")  # fmt: skip
    variable = next(v for v in dashboard["templating"]["list"] if v["name"] == "machine")
    metric, label = re.fullmatch(r"label_values\((\w+), (\w+)\)", variable["definition"]).groups()
    values = prometheus.api(f"label/{label}/values", **{"match[]": metric})["data"]
    assert sorted(values) == ["alpha-box", "beta-box"]
    exprs = [(panel["title"], target["expr"]) for panel in dashboard["panels"]
             for target in panel.get("targets", [])]  # fmt: skip
    assert len(exprs) >= 15
    # wait for a few scrapes so that rate() and increase() have two samples to work with
    wait_for(lambda: prometheus.query("sum(rate(podium_cost_usd_total[1m]))"), timeout=20,
             interval=0.2, message="two scrapes for rate()")  # fmt: skip
    for title, expr in exprs:
        concrete = (expr.replace("$machine", "alpha-box|beta-box")
                    .replace("$__rate_interval", "1m").replace("$__range", "1h"))  # fmt: skip
        assert "$" not in concrete, (title, concrete)
        result = prometheus.query(concrete)  # raises on an error or a warning
        if "pending" not in title.lower() and "alert" not in title.lower():
            assert result, f"{title}: no data for {concrete}"

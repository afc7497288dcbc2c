"""`podium metrics`: Prometheus metrics, OTLP push and alert webhooks without an editor.

    podium metrics --listen 127.0.0.1:9464 [--machine NAME] [--settings FILE] [--otlp]
                   [--webhook URL [--webhook-kind slack]] [--ingest-every 5] [--once]

It keeps the store fresh itself (reads new log lines every --ingest-every seconds) and serves
until SIGINT/SIGTERM. `--settings` takes the editor's settings as JSON (`{"podium": {...}}` or
the section itself): plan, budgets, authMode, `metrics` and `webhooks`; flags win over it.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from typing import Any

from podium.metrics.config import (
    WEBHOOK_KINDS,
    MetricsConfig,
    WebhookTarget,
    parse_listen,
    parse_metrics,
)
from podium.usage.cli_common import add_store_options

PLAN_META_KEY = "limits.plan"  # where the server leaves its plan (podium.limits.engine)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--listen", metavar="HOST:PORT",
                        help="serve /metrics here (e.g. 127.0.0.1:9464; port 0 = any free port)")  # fmt: skip
    parser.add_argument("--once", action="store_true",
                        help="print the metrics in the Prometheus text format and exit")  # fmt: skip
    parser.add_argument("--otlp", action="store_true",
                        help="push over OTLP/HTTP (OTEL_EXPORTER_OTLP_* configure it)")  # fmt: skip
    parser.add_argument("--otlp-interval", type=float, metavar="SECONDS",
                        help="OTLP export interval (default: OTEL_METRIC_EXPORT_INTERVAL or 60)")  # fmt: skip
    parser.add_argument("--webhook", action="append", default=[], metavar="URL",
                        help="POST budget, plan and usage-limit alerts here (repeatable)")  # fmt: skip
    parser.add_argument("--webhook-kind", choices=WEBHOOK_KINDS, default="json",
                        help="body of the --webhook URLs: generic JSON or a Slack message")  # fmt: skip
    parser.add_argument("--machine", help="the `machine` label (default: the host name)")
    parser.add_argument("--settings", metavar="FILE", help="settings JSON (as the editor's)")
    parser.add_argument("--ingest-every", type=float, default=5.0, metavar="SECONDS",
                        help="read new log lines this often (0: never; default 5)")  # fmt: skip
    add_store_options(parser)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING,
                        format="podium metrics: %(levelname)s %(message)s")  # fmt: skip
    from podium.errors import PodiumError
    from podium.store import Store

    try:
        raw = _read_settings(args.settings)
        config = _config(args, raw)
        store = Store(args.db)
    except (PodiumError, ValueError, OSError) as exc:
        print(f"podium metrics: {exc}", file=sys.stderr)
        return 2
    try:
        settings = _settings(raw, store)
        if args.once:
            return _print_once(args, store, settings, config)
        if not config.enabled:
            print("podium metrics: nothing to do: give --listen, --otlp or --webhook "
                  "(or `metrics`/`webhooks` in --settings)", file=sys.stderr)  # fmt: skip
            return 2
        return _serve(args, store, settings, config)
    except PodiumError as exc:
        print(f"podium metrics: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()


def _serve(args: argparse.Namespace, store: Any, settings: Any, config: MetricsConfig) -> int:
    from podium.metrics.service import MetricsService
    from podium.usage.ingest import Ingestor

    ingestor = Ingestor(store, claude_config_dirs=args.claude_config_dirs)
    if args.ingest_every > 0:
        _ingest(ingestor)  # the first scrape already sees the history
    service = MetricsService(store.path, settings, config, otlp_interval_s=args.otlp_interval)
    service.start()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    parts = [f"serving {service.url}"] if service.url else []
    parts += ["pushing OTLP"] if config.otlp else []
    parts += [f"{len(config.webhooks)} webhook(s)"] if config.webhooks else []
    print(f"podium metrics: {', '.join(parts)} (machine {config.machine_name})", flush=True)
    try:
        while not stop.wait(args.ingest_every if args.ingest_every > 0 else None):
            _ingest(ingestor)
    finally:
        service.stop()
    return 0


def _ingest(ingestor: Any) -> None:
    try:
        result = ingestor.run()
    except Exception as exc:  # a busy or unreadable store: try again next round
        logging.getLogger(__name__).warning("ingest failed: %s", exc)
        return
    for err in result.errors:
        logging.getLogger(__name__).warning("%s", err)


def _print_once(args: argparse.Namespace, store: Any, settings: Any,
                config: MetricsConfig) -> int:  # fmt: skip
    from prometheus_client import CollectorRegistry, generate_latest

    from podium.metrics.prom import SnapshotCollector
    from podium.metrics.reader import MetricsReader
    from podium.usage.ingest import Ingestor

    if args.ingest_every > 0:
        _ingest(Ingestor(store, claude_config_dirs=args.claude_config_dirs))
    reader = MetricsReader(store.path, settings, machine=config.machine_name)
    try:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(SnapshotCollector(reader.snapshot))
        sys.stdout.write(generate_latest(registry).decode())
    finally:
        reader.close()
    return 0


def _read_settings(path: str | None) -> dict[str, Any]:
    if not path:
        return {}
    try:
        with open(path, encoding="utf-8") as fh:
            raw = json.load(fh)
    except ValueError as exc:
        raise ValueError(f"--settings {path}: not JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise ValueError(f"--settings {path}: must hold a JSON object")
    inner = raw.get("podium")
    return inner if isinstance(inner, dict) else raw


def _config(args: argparse.Namespace, raw: dict[str, Any]) -> MetricsConfig:
    config, warnings = parse_metrics(raw.get("metrics"), raw.get("webhooks"))
    for warning in warnings:
        print(f"podium metrics: {warning}", file=sys.stderr)
    listen = parse_listen(args.listen) if args.listen else config.listen
    hooks = config.webhooks + tuple(WebhookTarget(url, args.webhook_kind) for url in args.webhook)
    for hook in hooks:
        if not hook.url.startswith(("http://", "https://")):
            raise ValueError(f"--webhook must be an http(s) URL, got {hook.url!r}")
    return MetricsConfig(listen, config.otlp or args.otlp, args.machine or config.machine, hooks)


def _settings(raw: dict[str, Any], store: Any) -> Any:
    """The settings for plan figures and budgets: the file's, with the plan the server last
    published in the store when the file names none."""
    from podium.settings import parse_settings

    raw = {k: v for k, v in raw.items() if k not in ("metrics", "webhooks")}
    if "plan" not in raw:
        try:
            published = json.loads(store.get_meta(PLAN_META_KEY) or "{}")
        except ValueError:
            published = {}
        for key in ("plan", "planLimits"):
            if key in published and key not in raw:
                raw[key] = published[key]
    settings, warnings = parse_settings(raw)
    for warning in warnings:
        print(f"podium metrics: {warning}", file=sys.stderr)
    return settings

"""`podium` command line.

Each subcommand lives in the module of its concern and exposes `configure(parser)` and
`run(args) -> int`. Only the chosen subcommand's module is imported, so `podium statusline`
and `podium report` start without loading the language server.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "report": ("podium.usage.cli_report", "usage reports: daily, monthly, session, blocks"),
    "insights": ("podium.usage.cli_insights", "what could be cheaper or is about to run out"),
    "ingest": ("podium.usage.cli_ingest", "read new log lines into the store"),
    "log": ("podium.usage.cli_log", "log an LLM or API call from any provider (or a file of them)"),
    "archive": ("podium.usage.cli_archive", "move old usage into monthly archive databases"),
    "doctor": ("podium.usage.cli_doctor", "show log roots, store and skipped-line counts"),
    "prices": ("podium.usage.cli_prices", "the price table in use; update it from LiteLLM's file"),
    "serve": ("podium.server.cli", "run the language server (stdio or --tcp)"),
    "fake-agent": ("podium.agents.fake_agent", "a fake Claude Code agent for demos and tests"),
    "agents": ("podium.agents.cli", "spawn, list and control agents without an editor"),
    "statusline": ("podium.limits.statusline", "Claude Code statusLine command"),
    "export": ("podium.export.cli", "export usage as CSV or JSON"),
    "metrics": ("podium.metrics.cli", "Prometheus metrics, OTLP push and alert webhooks"),
    "demo": ("podium.demo", "the headless end-to-end demo"),
}


def _root_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="podium",
        description="Run many coding agents side by side.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="commands:\n"
        + "\n".join(f"  {name:<12} {help_}" for name, (_, help_) in COMMANDS.items()),
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    parser.add_argument("command", nargs="?", help="one of the commands below")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    argv = argv[1:] if argv[:2] == ["report", "insights"] else argv  # `podium report insights`
    if not argv or argv[0].startswith("-") or argv[0] not in COMMANDS:
        parser = _root_parser()
        if argv and argv[0] == "--version":
            from podium import __version__

            print(f"podium {__version__}")
            return 0
        if argv and argv[0] not in ("-h", "--help"):
            parser.print_usage(sys.stderr)
            print(f"podium: unknown command {argv[0]!r}", file=sys.stderr)
            return 2
        parser.print_help()
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    module_name, help_ = COMMANDS[name]
    module = importlib.import_module(module_name)
    parser = argparse.ArgumentParser(prog=f"podium {name}", description=help_)
    module.configure(parser)
    args = parser.parse_args(rest)
    try:
        return int(module.run(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        # a damaged store, a full disk, a read-only folder: one line, not a traceback
        from podium.store.db import default_db_path
        from podium.store.health import classify

        problem = classify(exc, getattr(args, "db", None) or default_db_path())
        if problem is None:
            raise
        print(f"podium: {problem.message}", file=sys.stderr)
        return 2

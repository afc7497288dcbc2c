"""`podium config show|path|init`: the effective settings and where each came from."""

from __future__ import annotations

import argparse
import json
import os
import sys

from podium import config_file as cfgmod
from podium.errors import InvalidInput

TEMPLATE = """# podium.toml: settings for `podium report`, `podium monitor` and `podium statusline`
# (the VS Code extension's own settings win inside the editor). Environment variables
# override this file: `podium config show` lists them with each value's source.

# plan = "max5"                    # pro | max5 | max20 | team | custom
# timezone = "Europe/Paris"        # report days (default: this machine's zone)
# prices = "~/prices.json"         # price table override
# claude_config_dirs = ["~/.claude"]
# warning_at = 0.8                 # WARNING from 80 % of a budget; EXCEEDED at 100 %

[limits]
# daily_usd = 10
# monthly_usd = 300

[monitor]
# interval = 2                     # seconds between refreshes
"""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", nargs="?", choices=("show", "path", "init"), default="show",
                        help="show: effective values and sources (default); path: the file "
                        "read; init: write a commented template there")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="show: as JSON")


def run(args: argparse.Namespace) -> int:
    cfg = getattr(args, "config", None) or cfgmod.load()
    if args.action == "path":
        print(cfg.path + ("" if cfg.found else "  (not there: defaults apply)"))
        return 0
    if args.action == "init":
        return _init(cfg.path)
    rows = [{"key": k.name, "value": cfg.get(k.name), "source": cfg.source(k.name),
             "env": k.env, "help": k.help} for k in cfgmod.KEYS]  # fmt: skip
    if args.json:
        print(json.dumps({"file": cfg.path, "found": cfg.found, "settings": rows}, indent=2))
        return 0
    print(f"config file: {cfg.path}" + ("" if cfg.found else " (not there: defaults apply)"))
    width = max(len(r["key"]) for r in rows)
    for r in rows:
        value = "(none)" if r["value"] in (None, {}, []) else _show(r["value"])
        env = f"  [{r['env']}]" if r["env"] and not r["source"].startswith("env") else ""
        print(f"  {r['key']:<{width}}  {value:<24} {r['source']}{env}")
    return 0


def _show(value: object) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value))
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


def _init(path: str) -> int:
    if os.path.exists(path):
        raise InvalidInput(f"{path} exists; edit it, or remove it first", field="config")
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "x", encoding="utf-8") as fh:
        fh.write(TEMPLATE)
    print(f"wrote {path}", file=sys.stderr)
    return 0

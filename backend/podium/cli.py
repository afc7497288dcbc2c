"""`podium` command line.

Each subcommand lives in the module of its concern and exposes `configure(parser)` and
`run(args) -> int`. Only the chosen subcommand's module is imported, so `podium statusline`
and `podium report` start without loading the language server.

A user never sees a traceback: any error ends in one line on stderr (what went wrong and what
to do, podium.cli_ui.errors) and a non-zero exit; `--debug` (or PODIUM_DEBUG=1) shows the
traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from podium.config_file import Config
from typing import NoReturn

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "report": ("podium.usage.cli_report",
               "usage reports: daily, weekly, monthly, session, blocks, usage, insights"),
    "insights": ("podium.usage.cli_insights", "what could be cheaper or is about to run out"),
    "monitor": ("podium.cli_ui.monitor", "live terminal view: spend, budgets, plan, agents"),
    "ingest": ("podium.usage.cli_ingest", "read new log lines into the store"),
    "log": ("podium.usage.cli_log", "log an LLM or API call from any provider (or a file of them)"),
    "archive": ("podium.usage.cli_archive", "move old usage into monthly archive databases"),
    "doctor": ("podium.usage.cli_doctor", "show log roots, store and skipped-line counts"),
    "prices": ("podium.usage.cli_prices", "the price table in use; update it from LiteLLM's file"),
    "config": ("podium.cli_ui.config_cli", "podium.toml: the effective settings and their source"),
    "serve": ("podium.server.cli", "run the language server (stdio or --tcp)"),
    "fake-agent": ("podium.agents.fake_agent", "a fake Claude Code agent for demos and tests"),
    "agents": ("podium.agents.cli", "spawn, list and control agents without an editor"),
    "statusline": ("podium.limits.statusline", "Claude Code statusLine command"),
    "export": ("podium.export.cli", "export usage as CSV or JSON"),
    "metrics": ("podium.metrics.cli", "Prometheus metrics, OTLP push and alert webhooks"),
    "completion": ("podium.cli_ui.completion", "shell completion: bash, zsh or fish"),
    "demo": ("podium.demo", "the headless end-to-end demo"),
}
#: commands this module answers itself
BUILTINS = ("help",)
ENV_DEBUG = "PODIUM_DEBUG"
#: commands that do not read podium.toml: the editor's settings win inside the editor
NO_CONFIG = ("serve", "fake-agent", "demo", "completion")


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (what was wrong, a close match, where to look)."""

    def error(self, message: str) -> NoReturn:
        hint = _choice_hint(message) or self._option_hint(message)
        command = self.prog.removeprefix("podium").strip()
        where = f"`podium help {command}`" if command else "`podium help`"
        sys.stderr.write(f"{self.prog}: {message}{hint}; see {where}\n")
        raise SystemExit(2)


    def parse_args(self, args: Any = None, namespace: Any = None) -> Any:
        return super().parse_args(self._glued(list(sys.argv[1:] if args is None else args)),
                                  namespace)  # fmt: skip

    def _glued(self, args: list[str]) -> list[str]:
        """`-p -home-ana-shop` → `--project=-home-ana-shop`: an encoded project folder starts
        with `-`, and argparse takes any such word for an option ("expected one argument")."""
        out: list[str] = []
        for arg in args:
            action = self._option_string_actions.get(out[-1]) if out else None
            if (action is not None and action.nargs is None and arg.startswith("-")
                    and len(arg) > 1 and arg not in self._option_string_actions
                    and arg.split("=")[0] not in self._option_string_actions):  # fmt: skip
                out[-1] = f"{action.option_strings[-1]}={arg}"
                continue
            out.append(arg)
        return out

    def _option_hint(self, message: str) -> str:
        """' (did you mean --color?)' for "unrecognized arguments: --colour"."""
        if not message.startswith("unrecognized arguments: "):
            return ""
        word = message.split(": ", 1)[1].split()[0].split("=")[0]
        close = _close(word, list(self._option_string_actions)) if word.startswith("-") else None
        return f" (did you mean {close}?)" if close else ""


def _choice_hint(message: str) -> str:
    """' (did you mean daily?)' for argparse's "invalid choice: 'dayly' (choose from …)"."""
    import re

    m = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
    if not m:
        return ""
    choices = [c.strip(" '\"") for c in m.group(2).split(",")]
    close = _close(m.group(1), choices)
    return f" (did you mean {close}?)" if close else ""


def _close(word: str, options: list[str]) -> str | None:
    import difflib

    found = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return found[0] if found else None


def root_help() -> str:
    width = max(len(n) for n in COMMANDS) + 2
    lines = [
        "usage: podium [-v] [--debug] [--config FILE] <command> [options]",
        "",
        "Run many coding agents side by side; see and limit what they cost.",
        "",
        "commands:",
        *(f"  {name:<{width}}{help_}" for name, (_, help_) in COMMANDS.items()),
        f"  {'help':<{width}}this text, or `podium help <command>` for one command",
        "",
        "options:",
        "  -v, --version   print the version and exit",
        "  --debug         show the traceback of an error (also PODIUM_DEBUG=1)",
        "  --config FILE   the podium.toml to read (also $PODIUM_CONFIG)",
        "  -h, --help      this text",
    ]
    return "\n".join(lines)


def command_parser(name: str) -> tuple[argparse.ArgumentParser, ModuleType]:
    module_name, help_ = COMMANDS[name]
    module = importlib.import_module(module_name)
    parser = Parser(prog=f"podium {name}", description=help_)
    module.configure(parser)
    return parser, module


def _split_globals(argv: list[str]) -> tuple[dict, list[str]]:
    """Options before the command: -v/--version, -h/--help, --debug, --config FILE."""
    opts: dict = {"debug": False, "config": None, "version": False, "help": False}
    rest = list(argv)
    while rest and rest[0].startswith("-"):
        arg = rest.pop(0)
        if arg in ("-v", "-V", "--version"):
            opts["version"] = True
        elif arg in ("-h", "--help"):
            opts["help"] = True
        elif arg == "--debug":
            opts["debug"] = True
        elif arg == "--config" or arg.startswith("--config="):
            value = arg.partition("=")[2] or (rest.pop(0) if rest else "")
            if not value:
                raise _Usage("--config wants a file path")
            opts["config"] = value
        else:
            raise _Usage(f"unknown option {arg}")
    # --debug is accepted after the command too (no command has an option of that name)
    if "--debug" in rest[1:]:
        opts["debug"] = True
        rest = [rest[0], *(a for a in rest[1:] if a != "--debug")]
    return opts, rest


class _Usage(Exception):
    pass


def entry() -> None:
    """The `podium` executable (and `python -m podium`): main(), then a fast exit. A command
    that left its store open (podium.usage.cli_common.release) exits without closing it, so
    the WAL checkpoint on close and the interpreter's teardown (~15 ms together after a +1 %
    report) are not paid on every run."""
    code = main(fast_exit=True)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # the reader went away after the last write: no error for it
        _quiet_broken_pipe()
    except ValueError:  # already closed (`podium serve` hands its stdio to the LSP transport)
        pass
    except OSError:
        code = code or 1
    cli_common = sys.modules.get("podium.usage.cli_common")  # (not imported by every command)
    if cli_common is not None and cli_common.LEFT_OPEN:
        os._exit(code)
    raise SystemExit(code)


def main(argv: list[str] | None = None, *, fast_exit: bool = False) -> int:
    """Run one command; returns its exit code. In a long-lived caller (tests), stores a command
    left open are closed before returning; `entry` exits without closing them instead."""
    try:
        return _main(argv)
    except BrokenPipeError:  # `podium help | head`: the reader went away
        _quiet_broken_pipe()
        return 0
    finally:
        if not fast_exit and "podium.usage.cli_common" in sys.modules:
            from podium.usage import cli_common

            while cli_common.LEFT_OPEN:
                cli_common.LEFT_OPEN.pop().close()


def _main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        opts, rest = _split_globals(argv)
    except _Usage as exc:
        print(f"podium: {exc}; see `podium help`", file=sys.stderr)
        return 2
    if opts["version"]:
        from podium import __version__

        print(f"podium {__version__}")
        return 0
    if opts["config"]:
        os.environ["PODIUM_CONFIG"] = opts["config"]
    debug = opts["debug"] or os.environ.get(ENV_DEBUG, "") not in ("", "0")
    if opts["help"] or not rest:
        print(root_help())
        return 0 if opts["help"] else 2
    rest = rest[1:] if rest[:2] == ["report", "insights"] else rest  # `podium report insights`
    name, rest = rest[0], rest[1:]
    if name == "help":
        return _help(rest)
    if name not in COMMANDS:
        close = _close(name, [*COMMANDS, *BUILTINS])
        hint = f" (did you mean `podium {close}`?)" if close else ""
        print(f"podium: unknown command {name!r}{hint}; `podium help` lists them", file=sys.stderr)
        return 2
    parser, module = command_parser(name)
    args = parser.parse_args(rest)
    args.debug = debug
    try:
        args.config = _config(name)
        return int(module.run(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        _quiet_broken_pipe()
        return 0
    except Exception as exc:
        if debug:
            raise
        from podium.cli_ui.errors import describe

        message, code = describe(exc, getattr(args, "db", None))
        print(f"podium: {message}", file=sys.stderr)
        return code


def _config(name: str) -> Config | None:
    """podium.toml for the commands a person runs; the editor's server keeps its own settings."""
    if name in NO_CONFIG:
        return None
    from podium import config_file as config

    cfg = config.load()
    config.apply_to_env(cfg)
    return cfg


def _help(rest: list[str]) -> int:
    if not rest:
        print(root_help())
        return 0
    name = rest[0]
    if name in COMMANDS:
        command_parser(name)[0].print_help()
        return 0
    close = _close(name, list(COMMANDS))
    hint = f" (did you mean {close}?)" if close else ""
    print(f"podium help: no command {name!r}{hint}", file=sys.stderr)
    return 2


def _quiet_broken_pipe() -> None:
    """The reader went away (`podium report | head`): no 'Exception ignored' at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass

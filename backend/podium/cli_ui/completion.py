"""`podium completion bash|zsh|fish`: a completion script built from the commands' own parsers
(so it never lists an option that does not exist).

    source <(podium completion bash)        # ~/.bashrc
    source <(podium completion zsh)         # ~/.zshrc (after compinit)
    podium completion fish > ~/.config/fish/completions/podium.fish
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Sequence

SHELLS = ("bash", "zsh", "fish")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("shell", choices=SHELLS, help="the shell to complete in")


def run(args: argparse.Namespace) -> int:
    spec = command_spec()
    print({"bash": bash, "zsh": zsh, "fish": fish}[args.shell](spec))
    return 0


def command_spec() -> dict[str, dict]:
    """command → {"help", "options": [(flags, help)], "words": positional choices}."""
    from podium.cli import COMMANDS, command_parser

    spec: dict[str, dict] = {}
    for name, (_, help_) in COMMANDS.items():
        try:
            parser, _ = command_parser(name)
        except Exception:  # a command whose module cannot load here is still completed by name
            spec[name] = {"help": help_, "options": [], "words": []}
            continue
        options: list[tuple[Sequence[str], str]] = []
        words: list[str] = []
        for action in parser._actions:
            if action.option_strings:
                options.append((action.option_strings, action.help or ""))
            elif action.choices:
                words.extend(str(c) for c in action.choices)
        spec[name] = {"help": help_, "options": options, "words": words}
    spec["help"] = {"help": "help on a command", "options": [],
                    "words": [n for n in spec if n != "help"]}  # fmt: skip
    return spec


def _flags(entry: dict) -> list[str]:
    return [f for flags, _ in entry["options"] for f in flags]


def bash(spec: dict[str, dict]) -> str:
    cases = "\n".join(
        f"    {name}) opts={shlex.quote(' '.join(entry['words'] + _flags(entry)))} ;;"
        for name, entry in spec.items()
    )
    commands = " ".join(spec)
    return f"""# podium completion for bash: source <(podium completion bash)
_podium() {{
  local cur="${{COMP_WORDS[COMP_CWORD]}}" opts
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "{commands} --version --help --debug --config" -- "$cur"))
    return
  fi
  case "${{COMP_WORDS[1]}}" in
{cases}
    *) opts="" ;;
  esac
  COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}}
complete -o default -F _podium podium"""


def _zsh_quote(text: str) -> str:
    return text.replace("'", "'\\''").replace(":", "\\:").replace("\n", " ")


def zsh(spec: dict[str, dict]) -> str:
    described = "\n".join(f"    '{name}:{_zsh_quote(e['help'])}'" for name, e in spec.items())
    cases = "\n".join(
        f"    {name}) compadd -- {' '.join(shlex.quote(w) for w in e['words'] + _flags(e))} ;;"
        for name, e in spec.items()
    )
    return f"""#compdef podium
# podium completion for zsh: source <(podium completion zsh)
_podium() {{
  local -a commands
  commands=(
{described}
  )
  if (( CURRENT == 2 )); then
    _describe 'podium command' commands
    return
  fi
  case $words[2] in
{cases}
  esac
  _files
}}
compdef _podium podium"""


def _fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", " ") + "'"


def fish(spec: dict[str, dict]) -> str:
    lines = ["# podium completion for fish: podium completion fish > "
             "~/.config/fish/completions/podium.fish", "complete -c podium -f"]  # fmt: skip
    for name, entry in spec.items():
        lines.append(f"complete -c podium -n __fish_use_subcommand -a {name} "
                     f"-d {_fish_quote(entry['help'])}")  # fmt: skip
        cond = f"'__fish_seen_subcommand_from {name}'"
        if entry["words"]:
            words = " ".join(entry["words"])
            lines.append(f"complete -c podium -n {cond} -a {_fish_quote(words)}")
        for flags, help_ in entry["options"]:
            parts = []
            for flag in flags:
                if flag.startswith("--"):
                    parts.append(f"-l {flag[2:]}")
                elif len(flag) == 2:
                    parts.append(f"-s {flag[1]}")
            if parts:
                lines.append(f"complete -c podium -n {cond} {' '.join(parts)} "
                             f"-d {_fish_quote(help_[:80])}")  # fmt: skip
    return "\n".join(lines)

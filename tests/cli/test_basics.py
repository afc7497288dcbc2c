"""`podium help`, `-v`, "did you mean", shell completion."""

from __future__ import annotations

import shutil
import subprocess

import pytest


def test_version_and_help(cli):
    from podium import __version__

    for flag in ("-v", "--version"):
        assert cli(flag, check=True).out.strip() == f"podium {__version__}"
    top = cli("help", check=True).out
    assert "report" in top and "monitor" in top and "completion" in top
    assert cli("--help", check=True).out == top
    report = cli("help", "report", check=True).out
    assert "--since" in report and "--token-limit" in report and "--instances" in report
    assert report == cli("report", "--help", check=True).out
    # README: `podium report insights` (the `insights` command): the help names it too
    assert "blocks, usage, insights" in report and "blocks, usage, insights" in top
    typo = cli("help", "reprot")
    assert typo.code == 2 and "did you mean report" in typo.err
    bare = cli()
    assert bare.code == 2 and "commands:" in bare.out


def test_a_typo_in_a_report_kind_gets_a_suggestion(cli):
    got = cli("report", "dayly")
    assert got.code == 2 and "(did you mean daily?)" in got.err
    assert len(got.err.strip().splitlines()) == 1


def test_bash_completion_completes_commands_kinds_and_options(cli, tmp_path):
    script = tmp_path / "podium.bash"
    script.write_text(cli("completion", "bash", check=True).out)

    def complete(*words: str) -> list[str]:
        quoted = " ".join(f"'{w}'" for w in words)
        out = subprocess.run(["bash", "-c", f"source {script}; COMP_WORDS=({quoted}); "
                              f"COMP_CWORD={len(words) - 1}; _podium; echo ${{COMPREPLY[@]}}"],
                             capture_output=True, text=True, check=True)  # fmt: skip
        return out.stdout.split()

    assert complete("podium", "mon") == ["monitor"]
    assert "weekly" in complete("podium", "report", "w")
    assert complete("podium", "report", "--token-l") == ["--token-limit"]
    assert complete("podium", "completion", "") == ["bash", "zsh", "fish", "-h", "--help"]


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts_parse(cli, tmp_path, shell):
    text = cli("completion", shell, check=True).out
    assert "report" in text and "--breakdown" in text.replace("-l breakdown", "--breakdown")
    exe = shutil.which(shell)
    if exe is None:
        pytest.skip(f"{shell} is not installed: the script is checked by its content only")
    script = tmp_path / f"podium.{shell}"
    script.write_text(text)
    check = subprocess.run([exe, "-n", str(script)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


@pytest.mark.parametrize("args", [("help",), ("report", "daily"), ("report", "daily", "-j", "-b"),
                                  ("monitor", "--once")])  # fmt: skip
def test_a_reader_that_goes_away_is_no_error(cli, args):
    """`podium … | head`: exit 0 and nothing on stderr when the reader has gone (here it is gone
    before the first byte is written: `true` reads nothing)."""
    import shlex
    import sys

    command = " ".join(shlex.quote(a) for a in (sys.executable, "-m", "podium", *args))
    done = subprocess.run(["bash", "-o", "pipefail", "-c", f"{command} | true"],
                          env=cli.env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""

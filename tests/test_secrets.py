"""Planted secrets: fake keys in several formats go into transcripts (cwd, model, message text),
a spawn's task and env; after ingest, a server session, exports and reports, none of their
bytes may be found in the store file, its WAL, the exports, the logs or any notification.

(Known, for later: the agent side — argv and /proc/<pid>/cmdline, the agent's own stdout
file — is not covered here; the agent's own transcript holds the task as any Claude Code
transcript does.)
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from tests.server.rawlsp import RawLsp

from podium.usage import synthetic as syn

T0 = 1_790_000_000_000
# fake secrets, each with a distinctive body that must never be found again
SECRETS = {
    "anthropic": "sk-ant-api03-PLANTEDanthropic0123456789abcdefXYZ",
    "openai": "sk-proj-PLANTEDopenai0123456789abcdefghij",
    "aws": "AKIAPLANTEDAWS012345",
    "github": "ghp_PLANTEDgithub0123456789abcdefghijklmno",
    "slack": "xoxb-1234567890-PLANTEDslack0123",
    "google": "AIzaPLANTEDgoogle0123456789abcdefghijklm",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJQTEFOVEVEand0IjoxfQ.PLANTEDjwtSignature0123",
    "password": "password=PLANTEDpassw0rd",
    "url": "https://bob:PLANTEDurlpass@example.com/x",
}
#: the bytes that give a secret away (its body, without the well-known prefix)
NEEDLES = ["PLANTEDanthropic", "PLANTEDopenai", "PLANTEDAWS", "PLANTEDgithub", "PLANTEDslack",
           "PLANTEDgoogle", "PLANTEDjwt", "PLANTEDpassw0rd", "PLANTEDurlpass"]  # fmt: skip


def _transcripts(claude: Path) -> None:
    """Lines whose cwd, model and text carry the secrets (one secret per session)."""
    for n, (name, secret) in enumerate(SECRETS.items()):
        cwd = f"/work/{secret}/shop"
        project = claude / "projects" / f"-work-planted-{name}"
        project.mkdir(parents=True)
        lines = [syn.user_line(f"s-{name}", cwd, T0 + n * 1000, f"please use {secret} now")]
        lines += syn.assistant_lines(f"s-{name}", cwd, T0 + n * 1000 + 500,
                                     f"claude-sonnet-4-5 {secret}", syn.usage_dict(10, 20, 30, 40),
                                     blocks=[{"type": "text", "text": f"ok, {secret}"}])  # fmt: skip
        (project / f"s-{name}.jsonl").write_bytes(b"".join(syn.dumps(line) for line in lines))


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    run = subprocess.run([sys.executable, "-m", "podium", *args], env=env, capture_output=True,
                         text=True, timeout=120)  # fmt: skip
    assert run.returncode == 0, (args, run.stderr)
    return run


def _podium(*args: str, env: dict[str, str]) -> str:
    run = _run(*args, env=env)
    return run.stdout + run.stderr


def _leaks(name: str, data: bytes) -> list[str]:
    return [f"{needle} in {name}" for needle in NEEDLES if needle.encode() in data]


async def test_planted_secrets_are_nowhere(git_repo: Path, tmp_path: Path) -> None:
    claude = tmp_path / "claude"
    _transcripts(claude)
    db = tmp_path / "data" / "podium.db"
    env = dict(os.environ, CLAUDE_CONFIG_DIR=str(claude), PODIUM_DB=str(db), TZ="UTC")
    env.pop("ANTHROPIC_API_KEY", None)
    outputs = [_podium("ingest", env=env)]

    raw = RawLsp()
    await raw.launch(git_repo, env, tmp_path / "server.log")
    leaks: list[str] = []
    try:
        await raw.initialize(git_repo)
        task = "Fix the login. Keys: " + " ".join(SECRETS.values())
        spawn = await raw.request({"method": "podium/spawnAgent", "params": {
            "task": task, "profile": "fake", "name": "planted",
            "env": {"ANTHROPIC_API_KEY": SECRETS["anthropic"], "MY_TOKEN": SECRETS["github"],
                    "DB_URL": SECRETS["url"]},
            "command": [sys.executable, "-m", "podium", "fake-agent", "--interval", "0.1",
                        "--turns", "2"]}})  # fmt: skip
        assert "result" in spawn, spawn
        agent_id = spawn["result"]["agentId"]
        for _ in range(400):  # the fake agent's usage reaches its card
            cards = [n["params"]["card"] for n in raw.notes if n["method"] == "podium/agentCard"]
            if any(c["usage"]["messages"] for c in cards):
                break
            await asyncio.sleep(0.05)
        replies = [await raw.request({"method": m, "params": p}) for m, p in (
            ("podium/listAgents", {}), ("podium/usageSummary", {}),
            ("podium/export", {"format": "json", "groupBy": "agent"}),
            ("podium/export", {"format": "csv", "groupBy": "entry"}),
            ("podium/stopAgent", {"agentId": agent_id}))]  # fmt: skip
        for reply in replies:
            assert "result" in reply, reply
        # the WAL while the server holds the store open
        for suffix in ("-wal", ""):
            path = Path(f"{db}{suffix}")
            if path.exists():
                leaks += _leaks(f"live {path.name}", path.read_bytes())
        assert (await raw.request({"method": "shutdown"})).get("result", "x") is None
    finally:
        await raw.close()
    traffic = json.dumps([raw.notes, raw.answers]).encode()
    leaks += _leaks("notifications and answers", traffic)

    out = tmp_path / "out"
    outputs.append(_podium("export", "--format", "csv", "--path", str(out / "u.csv"),
                           "--workspace", str(git_repo), env=env))  # fmt: skip
    outputs.append(_podium("export", "--format", "json", "--group-by", "model",
                           "--path", str(out / "m.json"), "--workspace", str(git_repo), env=env))  # fmt: skip
    for args in (["report", "session", "--json"], ["report", "daily", "--json", "--breakdown"],
                 ["report", "session"], ["doctor", "--json"]):  # fmt: skip
        outputs.append(_podium(*args, env=env))
    leaks += _leaks("CLI output", "\n".join(outputs).encode())

    checked = 0
    places = [db.parent, out, git_repo / ".podium" / "exports", tmp_path / "server.log"]
    for place in places:
        files = [place] if place.is_file() else sorted(p for p in place.rglob("*") if p.is_file())
        for path in files:
            leaks += _leaks(str(path.relative_to(tmp_path)), path.read_bytes())
            checked += 1
    assert checked >= 5, places
    assert leaks == []
    # and the usage itself was kept: scrubbing removes the key, not the line
    summary = json.loads(_run("report", "session", "--json", env=env).stdout)
    assert len(summary["sessions"]) >= len(SECRETS)


def test_a_key_straddling_a_cut_is_scrubbed_whole() -> None:
    from podium.redact import clip, scrub_secrets

    for cut in (190, 200, 210):
        text = "x" * (cut - 10) + " " + SECRETS["anthropic"] + " tail"
        clipped = clip(text, 200)
        assert len(clipped) <= 200 and "PLANTED" not in clipped and "sk-ant" not in clipped
    # paths keep their shape (attribution compares them); only the key goes
    assert scrub_secrets(f"/home/ana/{SECRETS['github']}/shop") == "/home/ana/[REDACTED:github-token]/shop"
    assert scrub_secrets("/home/ana/shop") == "/home/ana/shop" and scrub_secrets(None) is None


def test_ingest_scrubs_free_text_columns_only_where_needed(tmp_path: Path) -> None:
    """A clean chunk is passed through as is (no per-row cost); a chunk with a key in a cwd
    or a model keeps its rows and loses only the key."""
    from podium.usage.ingest import _without_secrets

    clean = [("k", 1, 2, "s", "/work/shop", "-work-shop", "claude-sonnet-4-5", 1, 2, 3, 4,
              None, None, 10, "m", "r", None, None, "claude", 0)]  # fmt: skip
    assert _without_secrets(clean) is clean
    dirty = [(*clean[0][:4], f"/work/{SECRETS['aws']}", "-work-x", f"m {SECRETS['openai']}", *clean[0][7:])]  # fmt: skip
    (row,) = _without_secrets(dirty)
    assert "PLANTED" not in repr(row) and row[0] == "k" and row[7:] == clean[0][7:]

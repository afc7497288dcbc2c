"""A process that supervises agents, to be SIGKILLed by a test: it opens an AgentManager on
STORE and REPO (keep_running from KEEP: 0/1, switched to SWITCH_TO after spawning when given),
spawns AGENTS shell agents running daemon_agent.py, prints one JSON line (their ids and pids) and
then waits (polling its agents) until it is killed.

    python supervisor_proc.py STORE REPO KEEP [SWITCH_TO]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from podium.agents import AgentManager
from podium.store import Store

DAEMON_AGENT = str(Path(__file__).with_name("daemon_agent.py"))


def main() -> None:
    store_path, repo, keep = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
    manager = AgentManager(Store(store_path), repo, keep_running=keep, stop_grace=1.0)
    agent = manager.spawn("serve", profile="shell", command=[sys.executable, DAEMON_AGENT, "stay"])
    if len(sys.argv) > 4:
        manager.keep_running = sys.argv[4] == "1"
    print(json.dumps({"id": agent.id, "pid": agent.pid, "worktree": agent.worktree}), flush=True)
    while True:
        manager.poll()
        time.sleep(0.2)


if __name__ == "__main__":
    main()

"""A shell-profile agent that leaves a daemon behind the way servers daemonize: fork, `setsid`,
fork again (so the daemon is in its own session and process group, no descendant of the agent),
ignore SIGTERM; the daemon also starts a child of its own. Their pids go to `daemon.pid` in the
cwd (the agent's worktree) as "DAEMON CHILD".

    python daemon_agent.py stay|exit     the agent's root then sleeps forever, or exits 0
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time


def main() -> None:
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            child = subprocess.Popen([sys.executable, "-c", "import time\nwhile True: time.sleep(1)"])
            with open("daemon.tmp", "w") as fh:
                fh.write(f"{os.getpid()} {child.pid}")
            os.rename("daemon.tmp", "daemon.pid")
            while True:
                time.sleep(0.05)
        os._exit(0)
    os.wait()
    if sys.argv[1:] == ["stay"]:
        while True:
            time.sleep(0.05)


if __name__ == "__main__":
    main()

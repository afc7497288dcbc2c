"""The user's config and data folders for Podium (`~/.config/podium`, `~/.local/share/podium`).

platformdirs' answers; on Linux computed here by the XDG rules platformdirs follows, because
importing platformdirs costs ~5 ms (it pulls in `tempfile` and `random`) on every CLI start.
"""

from __future__ import annotations

import os
import sys

APP = "podium"


def _xdg(var: str, fallback: str) -> str:
    base = os.environ.get(var, "").strip()
    return os.path.join(base or os.path.expanduser(fallback), APP)


def config_dir() -> str:
    if sys.platform.startswith("linux"):
        return _xdg("XDG_CONFIG_HOME", "~/.config")
    from platformdirs import user_config_dir

    return user_config_dir(APP, appauthor=False)


def data_dir() -> str:
    if sys.platform.startswith("linux"):
        return _xdg("XDG_DATA_HOME", "~/.local/share")
    from platformdirs import user_data_dir

    return user_data_dir(APP, appauthor=False)

import time

import pytest
from tests.limits.helpers import feed  # noqa: F401  (fixture)


@pytest.fixture
def local_zone(monkeypatch: pytest.MonkeyPatch):
    """Set the process's local zone (TZ) for one test; restored afterwards."""

    def use(name: str) -> None:
        monkeypatch.setenv("TZ", name)
        time.tzset()

    yield use
    monkeypatch.undo()
    time.tzset()

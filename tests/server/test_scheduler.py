"""The scheduler's timers (server/scheduler.py): pure logic on explicit times."""

from __future__ import annotations

import math

import pytest

from podium.server.scheduler import Idle, Scheduler, Timer


def test_a_timer_runs_every_period_and_at_once_the_first_time() -> None:
    poll = Timer(0.2)
    assert poll.take(100.0)  # never ran: due
    assert not poll.take(100.1)
    assert poll.next_at() == pytest.approx(100.2)
    assert poll.take(100.2)
    assert poll.take(100.25, force=True)  # forced: runs, and counts as run
    assert not poll.due(100.3)


def test_asked_runs_soon_but_never_inside_the_min_gap() -> None:
    limits = Timer(1.0, soon=0.3)
    limits.ran(10.0)
    assert limits.next_at() == 11.0
    limits.ask()  # an ingest wrote entries
    assert limits.next_at() == pytest.approx(10.3)
    assert not limits.due(10.2) and limits.take(10.3)
    assert limits.next_at() == 11.3  # the ask was consumed

    render = Timer(1.0, soon=0.0, min_gap=0.1)
    render.ran(5.0)
    render.ask()
    assert not render.due(5.05) and render.due(5.1)  # at most 10 a second


def test_a_timer_within_another_waits_until_that_one_may_run() -> None:
    render = Timer(1.0, soon=0.0, min_gap=0.1)
    figures = Timer(2.0, soon=0.5)
    figures.within = render
    figures.ran(0.0)
    render.ran(0.45)
    figures.ask()
    assert figures.next_at() == pytest.approx(0.55)  # 0.5 after, and the render may run


def test_never_stays_never_before_the_first_run() -> None:
    asked_only = Timer(soon=0.5)
    assert asked_only.next_at() == math.inf  # not nan: -inf + inf
    asked_only.ask()
    assert asked_only.due(0.0)


def test_idle_is_due_once_after_quiet() -> None:
    idle = Idle(1.0)
    assert idle.next_at() == math.inf
    idle.touch(3.0)
    idle.touch(3.5)  # a burst: measured from the last touch
    assert not idle.due(4.4) and idle.due(4.5)
    idle.ran(4.5)
    assert not idle.due(100.0)  # once per burst


def test_scheduler_next_at_and_reset() -> None:
    scheduler = Scheduler()
    poll = scheduler.timer("poll", 0.2)
    sweep = scheduler.timer("sweep", 1.0)
    checkpoint = scheduler.idle("checkpoint", 1.0)
    poll.ran(10.0)
    sweep.ran(10.0)
    assert scheduler.next_at() == pytest.approx(10.2)
    checkpoint.touch(9.0)
    assert scheduler.next_at() == 10.0
    checkpoint.ran(10.0)
    scheduler.reset()  # settings changed: every timer is due now
    assert poll.due(10.01) and sweep.due(10.01)
    with pytest.raises(ValueError, match="twice"):
        scheduler.timer("poll", 1.0)

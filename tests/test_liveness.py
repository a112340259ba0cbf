"""Livelock and starvation show up reliably, their fixes work, and nothing is left running."""

import threading

import pytest

from helpers import hazards, liveness


@pytest.fixture(autouse=True)
def nothing_left_behind():
    threads_before = threading.active_count()
    yield
    assert hazards.leftover_threads() == []
    assert threading.active_count() <= threads_before


def test_fixed_backoff_livelocks():
    # A livelock needs the two threads to stay in step; a very busy machine can knock them
    # out of step now and then, so ask for most runs, not all of them.
    # A longer pause than the notebook's makes the lockstep survive more scheduling noise.
    results = [liveness.polite_pair("fixed", jobs=3, time_limit=1.0, pause=0.04) for _ in range(3)]
    stuck = [r for r in results if not r.finished]
    assert len(stuck) >= 2, [str(r) for r in results]
    assert all(min(r.retries.values()) >= 4 for r in stuck), [str(r) for r in results]


def test_random_backoff_finishes():
    result = liveness.polite_pair("random", jobs=3, time_limit=5.0)
    assert result.finished


def test_readers_starve_the_writer_unless_writers_are_preferred():
    starved = liveness.readers_and_writer("readers", seconds=0.4)
    assert starved.writer_starved and starved.entries["writer"] == 0
    fair = liveness.readers_and_writer("writers", seconds=0.4)
    assert fair.entries["writer"] > 0 and not fair.writer_starved


def test_read_write_lock_excludes_readers_while_writing():
    rw = liveness.ReadWriteLock(prefer_writers=True)
    assert rw.acquire_write(timeout=0.1)
    assert not rw.acquire_read(timeout=0.05)
    rw.release_write()
    assert rw.acquire_read(timeout=0.05) and rw.acquire_read(timeout=0.05)
    assert not rw.acquire_write(timeout=0.05)

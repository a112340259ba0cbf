"""Starvation shows up reliably, its fix works, and nothing is left running."""

import pytest

from helpers import liveness

pytestmark = pytest.mark.usefixtures("nothing_left_running")


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

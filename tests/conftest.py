"""Shared pytest fixtures for the helper tests."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest

from helpers import launch

# The lessons' process targets live in notebooks/workers/ (import them as workers.lessonNN).
NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
if str(NOTEBOOKS) not in sys.path:
    sys.path.insert(0, str(NOTEBOOKS))


@pytest.fixture
def nothing_left_running():
    """After the test: no extra thread in this process and no child process (2 s grace)."""
    before = set(threading.enumerate())
    yield

    def extra_threads():
        return [t.name for t in threading.enumerate() if t not in before and t.is_alive()]

    deadline = time.perf_counter() + 2.0
    while (extra_threads() or launch.leftover_workers()) and time.perf_counter() < deadline:
        time.sleep(0.02)
    assert extra_threads() == []
    assert launch.leftover_workers() == []

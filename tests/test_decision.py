"""Tests for helpers.decision: recommendations follow the numbers; measurements clean up."""

import os

import pytest

from helpers import decision, launch
from helpers.measure import Point, Sweep


def sweep(kind, n, threads, processes):
    """A Sweep whose median speedups at n workers are the given ones."""
    s = Sweep(kind, 0.4, "fork", 2)
    for mode, speedup in (("threads", threads), ("processes", processes)):
        s.points += [Point(mode, 1, [1.0]), Point(mode, n, [1.0 / speedup])]
    return s


def measurements(cpu=(1.0, 1.8), io=(3.9, 3.8), cpus=2, gil=True):
    return decision.Measurements(
        usable_cpus=cpus, gil_enabled=gil, start_method="fork",
        cpu=sweep("cpu", 2, *cpu), io=sweep("io", 4, *io),
        startup_s={"thread": 1e-4, "fork": 2e-3, "spawn": 5e-2},
        memory_bytes={"thread": 8192.0, "process": 12 * 1024**2},
        handover_s={"thread": 1e-4, "process, pipe": 2e-2, "process, shared memory": 1e-3},
        handover_mb=8)


@pytest.mark.parametrize("kwargs, scenario, choice", [
    ({}, "cpu", "processes"),
    ({}, "io", "threads"),
    ({"cpu": (0.95, 0.98), "cpus": 1}, "cpu", "one worker"),
    ({"cpu": (1.8, 1.8), "gil": False}, "cpu", "threads"),
    ({"cpu": (1.5, 0.9)}, "cpu", "one worker"),        # with the GIL, a thread "gain" is noise
    ({"io": (1.5, 3.9)}, "io", "processes"),
    ({"io": (1.0, 1.0)}, "io", "one worker"),
    ({"io": (3.6, 4.6)}, "io", "threads"),              # 4.6x with 4 workers is capped at 4x
    ({"cpu": (1.0, 1.9), "cpus": 1}, "cpu", "one worker"),  # 1 CPU: 1.9x is noise
])
def test_recommend_follows_the_measurements(kwargs, scenario, choice):
    assert decision.recommend(measurements(**kwargs), scenario) == choice


def test_impossible_readings_are_flagged():
    assert decision.warnings(measurements()) == []
    assert "GIL" in decision.warnings(measurements(cpu=(1.5, 0.9)))[0]
    assert decision.warnings(measurements(cpu=(1.8, 1.8), gil=False)) == []
    assert "ceiling of 4x" in decision.warnings(measurements(io=(3.6, 4.6)))[0]


def test_guide_prints_the_numbers():
    text = decision.guide(measurements())
    assert "1.80x" in text and "3.90x" in text and "spawn 50.0 ms" in text
    assert "12.0 MB" in text and "8 kB" in text
    with pytest.raises(ValueError):
        decision.recommend(measurements(), "gpu")


def test_rules_state_the_thresholds_in_use(monkeypatch):
    assert "1.2x" in decision.rules() and "80%" in decision.rules()
    assert "author" in decision.rules()
    monkeypatch.setattr(decision, "GAIN", 2.0)
    assert "2x" in decision.rules()
    assert decision.recommend(measurements(), "cpu") == "one worker"  # 1.8x is below 2x now


def test_check_recommendation(capsys):
    m = measurements()
    assert decision.check_recommendation("processes", m, "cpu")
    assert not decision.check_recommendation("threads", m, "cpu")
    assert "1.80x" in capsys.readouterr().out
    assert decision.check_recommendation("fibers", m, "cpu") is None


def test_memory_per_worker_stops_its_workers():
    memory = decision.memory_per_worker(2)
    assert memory["process"] > 0 and memory["thread"] >= 0
    assert launch.leftover_workers() == []


def test_handover_costs_leave_no_shared_memory():
    costs = decision.handover_costs(mb=1, repeats=2)
    assert set(costs) == {"thread", "process, pipe", "process, shared memory"}
    assert all(s > 0 for s in costs.values())
    if os.path.isdir("/dev/shm"):
        assert not [f for f in os.listdir("/dev/shm") if f.startswith(decision.SEGMENT_PREFIX)]
    assert launch.leftover_workers() == []


def test_startup_costs_cover_every_start_method():
    costs = decision.startup_costs(repeats=1)
    assert "thread" in costs and len(costs) >= 2

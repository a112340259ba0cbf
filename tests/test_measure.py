"""Sweeps, speedup arithmetic and Amdahl's law."""

import threading

import pytest

from helpers import launch, measure


def test_fit_amdahl_recovers_a_known_serial_fraction():
    ns = [2, 4, 8, 16]
    f = 0.1
    speedups = [measure.amdahl_speedup(f, n) for n in ns]
    assert measure.fit_amdahl(ns, speedups) == pytest.approx(f, abs=1e-9)


def test_fit_amdahl_is_clipped_and_needs_data():
    assert measure.fit_amdahl([2], [5.0]) == 0.0  # super-linear -> clipped to 0
    with pytest.raises(ValueError):
        measure.fit_amdahl([1], [1.0])


def test_amdahl_and_gustafson_by_hand():
    assert measure.amdahl_speedup(0.5, 2) == pytest.approx(4 / 3)
    assert measure.amdahl_speedup(0.0, 8) == pytest.approx(8)
    assert measure.gustafson_speedup(0.5, 2) == pytest.approx(1.5)


def make_sweep():
    s = measure.Sweep("cpu", 1.0, "fork", 2)
    s.points = [measure.Point("processes", 1, [1.0, 1.1, 0.9]),
                measure.Point("processes", 2, [0.5, 0.6, 0.55])]
    return s


def test_speedup_and_efficiency_come_from_the_measured_baseline():
    s = make_sweep()
    (n1, s1, _, _), (n2, s2, lo, hi) = s.speedups("processes")
    assert (n1, s1) == (1, 1.0)
    assert s2 == pytest.approx(1.0 / 0.55)
    assert lo == pytest.approx(1.0 / 0.6) and hi == pytest.approx(1.0 / 0.5)
    assert s.efficiencies("processes")[1][1] == pytest.approx(1.0 / 0.55 / 2)
    assert s.speedup_at("processes", 2) == pytest.approx(1.0 / 0.55)
    assert s.speedups("threads") == []
    assert "efficiency" in s.table()


def test_a_real_sweep_measures_every_point():
    s = measure.sweep("io", [1, 2], ["threads"], seconds=0.2, repeats=2, show_progress=False)
    assert [(p.mode, p.n_workers, len(p.times)) for p in s.points] == [
        ("threads", 1, 2), ("threads", 2, 2)]
    assert not s.stopped


def test_on_point_is_called_after_each_point():
    seen = []
    measure.sweep("io", [2], ["threads"], seconds=0.1, repeats=1, warmup=False,
                  on_point=lambda sweep, point: seen.append(point.n_workers), show_progress=False)
    assert seen == [1, 2]  # the 1-worker baseline is always measured


def test_a_stopped_sweep_returns_what_it_has():
    stop = threading.Event()
    stop.set()
    s = measure.sweep("cpu", [1, 2], ["processes"], seconds=0.2, stop=stop, show_progress=False)
    assert s.stopped and s.points == []
    assert launch.leftover_workers() == []


@pytest.mark.parametrize("kwargs", [dict(worker_counts=[0]), dict(repeats=0),
                                    dict(seconds=-1), dict(modes=["fibres"])])
def test_bad_sweeps_are_refused(kwargs):
    with pytest.raises((ValueError, TypeError)):
        measure.sweep("cpu", **kwargs)


@pytest.mark.parametrize("how", ["thread", "fork", "spawn"])
def test_creation_times(how):
    times = measure.creation_times(how, repeats=3)
    assert len(times) == 3 and all(t > 0 for t in times)
    assert launch.leftover_workers() == []


def test_creation_times_rejects_unknown_methods():
    with pytest.raises(ValueError):
        measure.creation_times("teleport")


def test_compare_takes_repeats_in_turn_after_a_warmup():
    calls = []
    timings = measure.compare({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")},
                              repeats=3)
    assert calls == ["a", "b"] + ["a", "b"] * 3
    assert [len(t.times) for t in timings.values()] == [3, 3]
    assert "a: median" in str(timings["a"])


@pytest.mark.parametrize("bad", [{}, None, {"x": 42}])
def test_compare_refuses_what_it_cannot_time(bad):
    with pytest.raises(TypeError, match="contenders"):
        measure.compare(bad)


@pytest.mark.parametrize("kwargs, message", [
    ({"modes": "threads"}, "modes must be a list"),
    ({"modes": ("threads", "fibres")}, "each mode must be one of"),
    ({"worker_counts": range(10**9)}, "at most 64"),
    ({"worker_counts": None}, "worker_counts must be a list"),
    ({"start_method": ""}, "start_method must be one of"),
])
def test_sweep_refuses_bad_input_before_running(kwargs, message, monkeypatch):
    monkeypatch.setattr(measure.launch, "run", lambda *a, **k: pytest.fail("ran"))
    with pytest.raises((TypeError, ValueError), match=message):
        measure.sweep(**kwargs)

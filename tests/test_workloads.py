"""Work sized in seconds, and the small pieces that make it fair."""

import pytest

from helpers import workloads


@pytest.mark.parametrize("total, parts", [(10, 3), (7, 7), (3, 5), (1000, 64)])
def test_split_evenly_is_balanced_and_complete(total, parts):
    shares = workloads.split_evenly(total, parts)
    assert len(shares) == parts and sum(shares) == total
    assert max(shares) - min(shares) <= 1


def test_split_into_no_parts_is_refused():
    with pytest.raises(ValueError, match="1 or more"):
        workloads.split_evenly(10, 0)


@pytest.mark.parametrize("seconds", [0, -1, workloads.MAX_SECONDS + 1])
def test_absurd_durations_are_refused(seconds):
    with pytest.raises(ValueError):
        workloads.units_for("cpu", seconds)


def test_durations_must_be_numbers():
    with pytest.raises(TypeError):
        workloads.units_for("cpu", "1 s")


def test_quick_mode_shrinks_the_work(monkeypatch):
    monkeypatch.setenv("COURSE_QUICK", "0")
    full = workloads.units_for("io", 1.0)
    monkeypatch.setenv("COURSE_QUICK", "1")
    assert workloads.units_for("io", 1.0) == full // 4


def test_work_functions_are_deterministic():
    assert workloads.cpu_work(2) == workloads.cpu_work(2) > 0
    assert workloads.numpy_work(2) == pytest.approx(workloads.numpy_work(2))
    assert workloads.io_work(3) == 3


def test_calibration_is_positive_and_cached():
    first = workloads.seconds_per_unit("cpu")
    assert 0 < first < 1
    assert workloads.seconds_per_unit("cpu") == first


def test_stop_flag_ends_work_early():
    workloads.STOP.set()
    try:
        with pytest.raises(workloads.RunStopped):
            workloads.cpu_work(10_000)
        with pytest.raises(workloads.RunStopped):
            workloads.sleep_for(10)
    finally:
        workloads.STOP.clear()


def test_unknown_kind():
    with pytest.raises(ValueError, match="cpu, numpy, io"):
        workloads.work_function("quantum")

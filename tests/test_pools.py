"""Tests for helpers.pools: results, order, clean-up, timeouts and bad input."""

import threading
import time

import pytest

from helpers import launch, pools, workloads


def no_leftovers():
    return launch.leftover_workers() == []


@pytest.mark.parametrize("kind", pools.KINDS)
def test_map_in_pool_gives_results_in_item_order(kind):
    assert pools.map_in_pool(pools.square, range(20), kind, 2, chunksize=3) == [
        x * x for x in range(20)]
    assert no_leftovers()


def test_process_pool_works_under_spawn():
    assert pools.map_in_pool(pools.square, [3, 4], "processes", 2, start_method="spawn") == [9, 16]
    assert no_leftovers()


def test_open_pool_shuts_the_pool_down():
    with pools.open_pool("processes", 2) as pool:
        assert pool.submit(pools.square, 7).result(30) == 49
    with pytest.raises(RuntimeError):  # a shut-down pool refuses new work
        pool.submit(pools.square, 1)
    assert no_leftovers()


def test_open_pool_stops_workers_when_the_block_fails():
    before = threading.active_count()
    with pytest.raises(KeyError), pools.open_pool("processes", 2) as pool:
        pool.submit(workloads.sleep_for, 30)
        raise KeyError("something went wrong in the with-block")
    assert no_leftovers()
    assert threading.active_count() <= before


@pytest.mark.parametrize("how", ["map", "submit"])
def test_a_timeout_stops_the_pool_quickly(how):
    t0 = time.perf_counter()
    with pytest.raises(TimeoutError):
        pools.arrivals(pools.wait_then_square, [(1, 30.0), (2, 30.0)], "processes", 2, how=how,
                       timeout=0.5)
    assert time.perf_counter() - t0 < 10
    assert no_leftovers()


def test_map_in_pool_times_out():
    with pytest.raises(TimeoutError):
        pools.map_in_pool(workloads.sleep_for, [30.0, 30.0], "processes", 2, timeout=0.5)
    assert no_leftovers()


def test_map_keeps_order_and_as_completed_does_not():
    tasks = [(0, 0.4), (1, 0.05)]
    by_map = pools.arrivals(pools.wait_then_square, tasks, "threads", 2, how="map")
    by_submit = pools.arrivals(pools.wait_then_square, tasks, "threads", 2, how="submit")
    assert [a.index for a in by_map] == [0, 1]
    assert [a.index for a in by_submit] == [1, 0]
    assert by_submit[0].seconds < by_map[1].seconds  # task 1 arrived earlier with as_completed
    assert [a.result for a in by_map] == [0, 1]


@pytest.mark.parametrize("kwargs, error", [
    ({"kind": "fibers"}, ValueError),
    ({"n_workers": 0}, ValueError),
    ({"n_workers": 2.5}, TypeError),
    ({"chunksize": 0}, ValueError),
    ({"timeout": -1}, ValueError),
])
def test_bad_input_is_refused_before_anything_starts(kwargs, error):
    args = {"fn": pools.square, "items": [1, 2], "kind": "processes", "n_workers": 2} | kwargs
    with pytest.raises(error):
        pools.map_in_pool(**args)
    assert no_leftovers()


def test_notebook_functions_are_refused_under_spawn():
    with pytest.raises(ValueError, match="lambda"):
        pools.map_in_pool(lambda x: x, [1], "processes", 2, start_method="spawn")
    with pytest.raises(ValueError, match="no items"):
        pools.map_in_pool(pools.square, [], "threads", 2)


def test_chunksize_sweep_measures_every_size():
    sweep = pools.chunksize_sweep("processes", (1, 10, 10), n_tasks=50, n_workers=2, repeats=2)
    assert sweep.chunksizes() == [1, 10]
    assert all(len(p.times) == 2 and p.median > 0 for p in sweep.points)
    assert sweep.best_chunksize() in (1, 10)
    assert "chunksize" in str(sweep)
    with pytest.raises(KeyError):
        sweep.median_of(7)
    assert no_leftovers()


def test_speedup_sweep_returns_a_sweep_for_both_modes():
    sweep = pools.speedup_sweep("io", (2,), seconds=0.04, repeats=1)
    assert sweep.modes() == ["threads", "processes"]
    for mode in sweep.modes():
        rows = sweep.speedups(mode)
        assert [n for n, *_ in rows] == [1, 2]
        assert rows[0][1] == pytest.approx(1.0)
    assert no_leftovers()


def test_check_squares(capsys):
    assert pools.check_squares([x * x for x in range(10)], 10)
    assert not pools.check_squares(list(reversed([x * x for x in range(10)])), 10)
    assert "wrong order" in capsys.readouterr().out
    assert not pools.check_squares(map(pools.square, range(10)), 10)
    assert not pools.check_squares(..., 10)

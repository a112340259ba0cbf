"""Tests for helpers.affinity: core checks, pinning inside a child, graceful degradation, watching."""

import os

import pytest

from helpers import affinity, launch, system, workloads

needs_pinning = pytest.mark.skipif(not affinity.pinning_supported(),
                                   reason="this OS cannot pin processes")


def test_check_cores_accepts_allowed_cores():
    allowed = affinity.allowed_cores()
    assert affinity.check_cores(allowed[:1]) == allowed[:1]


@pytest.mark.parametrize("cores, error, words", [
    ([], ValueError, "at least one core"),
    ([9999], ValueError, "may only run on cores"),
    ("0", TypeError, "list of core numbers"),
    ([0.5], TypeError, "whole numbers"),
    ([True], TypeError, "whole numbers"),
])
def test_check_cores_refuses_bad_cores(cores, error, words):
    with pytest.raises(error, match=words):
        affinity.check_cores(cores)


def test_check_cores_where_the_os_reports_no_affinity(monkeypatch):
    monkeypatch.setattr(affinity.system, "affinity_cpus", lambda: None)
    assert affinity.check_cores([0]) == [0]
    with pytest.raises(ValueError, match="may only run on cores"):
        affinity.check_cores([system.logical_cpus()])
    with pytest.raises(ValueError, match="may only run on cores"):
        affinity.check_cores([-1])


def test_spread_and_same_core():
    allowed = affinity.allowed_cores()
    first = allowed[0]
    assert affinity.spread_over_cores(3) == [[allowed[i % len(allowed)]] for i in range(3)]
    if len(allowed) >= 2:
        assert affinity.spread_over_cores(3, allowed[:2]) == [[first], [allowed[1]], [first]]
    # on 1 CPU "different cores" is impossible: everyone gets the same core
    assert affinity.spread_over_cores(2, [first]) == [[first], [first]]
    assert affinity.same_core(3) == [[first]] * 3
    with pytest.raises(ValueError):
        affinity.spread_over_cores(0)
    with pytest.raises(ValueError):
        affinity.same_core(2, core=9999)


@needs_pinning
def test_a_child_pins_itself_and_the_parent_is_untouched():
    before = os.sched_getaffinity(0)
    core = affinity.allowed_cores()[-1]
    run = launch.run(affinity.pinned_call, [([core], system.affinity_cpus)], "processes",
                     track_cores=False, show_progress=False)
    record = run.records[0].result
    assert record["pinned_to"] == [core]
    assert record["result"] == [core]  # what the child itself saw after pinning
    assert os.sched_getaffinity(0) == before
    assert launch.leftover_workers() == []


@needs_pinning
def test_pinned_work_under_spawn():
    run = launch.run(affinity.pinned_work, [([affinity.allowed_cores()[0]], 2)], "processes",
                     start_method="spawn", track_cores=False, show_progress=False)
    assert run.records[0].result["result"] == workloads.cpu_work(2)


def test_without_affinity_support_work_runs_unpinned(monkeypatch):
    monkeypatch.delattr(os, "sched_setaffinity", raising=False)
    assert not affinity.pinning_supported()
    assert affinity.pin_this_process([0]) is None
    out = affinity.pinned_work([0], 1)
    assert out["pinned_to"] is None and out["result"] == workloads.cpu_work(1)
    monkeypatch.setattr(affinity.platform, "system", lambda: "Darwin")
    assert "macOS" in affinity.unsupported_reason()
    monkeypatch.setattr(affinity.platform, "system", lambda: "Windows")
    assert "Windows" in affinity.unsupported_reason()


def test_unsupported_reason_is_empty_where_pinning_works():
    if affinity.pinning_supported():
        assert affinity.unsupported_reason() == ""


def test_topology_reads_sysfs(tmp_path):
    for cpu, core in [(0, 0), (1, 0), (10, 1)]:
        d = tmp_path / f"cpu{cpu}" / "topology"
        d.mkdir(parents=True)
        (d / "core_id").write_text(f"{core}\n")
        (d / "physical_package_id").write_text("0\n")
    (tmp_path / "cpufreq").mkdir()
    assert affinity.topology(tmp_path) == [
        {"cpu": 0, "core": 0, "package": 0},
        {"cpu": 1, "core": 0, "package": 0},
        {"cpu": 10, "core": 1, "package": 0},
    ]
    assert affinity.topology(tmp_path / "missing") is None


def test_count_migrations():
    s = affinity.CoreSample
    samples = [s(0.0, 7, 0, 1.0), s(0.1, 7, 1, 1.0), s(0.2, 7, 1, 1.0), s(0.3, 7, 0, 1.0),
               s(0.0, 8, 1, 1.0), s(0.1, 8, 1, 0.5)]
    assert affinity.count_migrations(samples) == {7: 2, 8: 0}


def test_count_migrations_while_pinned_skips_the_unpinned_start():
    s = affinity.CoreSample
    # seen on core 1 while starting up (spawn), then pinned to core 0 for good
    samples = [s(0.0, 7, 1, 1.0), s(0.1, 7, 0, 1.0, pinned=True), s(0.2, 7, 0, 1.0, pinned=True)]
    assert affinity.count_migrations(samples) == {7: 1}
    assert affinity.count_migrations(samples, while_pinned=True) == {7: 0}


def test_run_and_watch_sees_the_workers_and_joins_its_thread():
    updates = []
    result, samples = affinity.run_and_watch(
        lambda stop: launch.run_workload("cpu", 0.8, 2, track_cores=False, show_progress=False,
                                         stop=stop),
        on_update=updates.append)
    assert result.n_workers == 2
    assert updates  # called at least once, at the end
    if os.path.exists("/proc/self/task"):  # Linux tells which core each worker is on
        assert set(result.pids) <= {x.pid for x in samples}
    assert all(0.0 <= x.busy <= 1.0 for x in samples)
    assert launch.leftover_workers() == []


def test_run_and_watch_passes_errors_on():
    def failing(stop):
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        affinity.run_and_watch(failing)


def test_compare_placements_measures_every_placement():
    first = affinity.allowed_cores()[0]
    results = affinity.compare_placements(
        {"free": [None, None], "one core": [[first], [first]]}, units=2, repeats=2)
    assert [r.name for r in results] == ["free", "one core"]
    for r in results:
        assert len(r.times) == 2 and all(t > 0 for t in r.times)
        assert r.low <= r.median <= r.high
    pinned = [rec.result["pinned_to"] for rec in results[1].last_run.records]
    if affinity.pinning_supported():
        assert pinned == [[first], [first]]
    assert launch.leftover_workers() == []


@needs_pinning
@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="only Linux says which core")
def test_the_watcher_sees_a_worker_pin_itself():
    core = affinity.allowed_cores()[0]
    if len(affinity.allowed_cores()) < 2:
        pytest.skip("one allowed core: pinning to it changes no mask")
    _, samples = affinity.run_and_watch(
        lambda stop: launch.run(affinity.pinned_work, [([core], workloads.units_for("cpu", 0.6))],
                                track_cores=False, show_progress=False, stop=stop))
    pinned = [x for x in samples if x.pinned]
    assert pinned and all(x.core == core for x in pinned)
    assert set(affinity.count_migrations(samples, while_pinned=True).values()) == {0}


def test_draw_placement_timelines_puts_one_label_and_legends_outside():
    from helpers import plots

    first = affinity.allowed_cores()[0]
    results = affinity.compare_placements(
        {"free": [None, None], "one core": [[first], [first]]}, units=2, repeats=1)
    fig = plots.figure(8, 4)
    affinity.draw_placement_timelines(fig, results)
    axes = fig.axes
    assert len(axes) == 2
    assert [ax.get_xlabel() for ax in axes] == ["", "time since the run started (s)"]
    assert all(ax.get_title().startswith(r.name) for ax, r in zip(axes, results))
    plots.to_png(fig)


def test_compare_placements_refuses_bad_input_before_launching():
    with pytest.raises(ValueError, match="may only run on cores"):
        affinity.compare_placements({"bad": [[9999]]}, units=1)
    with pytest.raises(ValueError, match="repeats"):
        affinity.compare_placements({"x": [None]}, units=1, repeats=0)
    with pytest.raises(ValueError, match="at least one placement"):
        affinity.compare_placements({}, units=1)


def test_live_core_view_redraws():
    view = affinity.LiveCoreView()
    first = view.figure.updates
    view.update([affinity.CoreSample(0.0, 1, 0, 1.0), affinity.CoreSample(0.02, 1, 1, 0.5)])
    assert view.figure.updates == first + 1
    assert len(view.samples) == 2


def test_run_and_watch_stops_the_run_at_its_deadline():
    with pytest.raises(launch.RunTimeout):
        affinity.run_and_watch(
            lambda stop: launch.run_workload("cpu", 60.0, 2, track_cores=False,
                                             show_progress=False, stop=stop),
            timeout=0.5)
    assert launch.leftover_workers() == []

"""Tests for helpers.panel: the SpeedupPanel widget and its small helpers.

No test asserts a speed (the test machine is shared and noisy): they check
validation, that a run measures what it says, that Stop really stops, and
that nothing -- no child process, no background thread -- is left behind.
"""

from __future__ import annotations

import os
import threading
import time

import pytest

from helpers import launch, measure, panel, system
from helpers.panel import SpeedupPanel

PNG_MAGIC = b"\x89PNG"


def panel_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "speedup-panel"]


@pytest.fixture(autouse=True)
def nothing_left_behind():
    yield
    assert launch.leftover_workers() == []
    assert panel_threads() == []


# --------------------------------------------------------------------------- settings


def test_worker_counts_small_and_large():
    assert panel.worker_counts(2) == [1, 2]
    assert panel.worker_counts(4) == [1, 2, 3, 4]
    assert panel.worker_counts(5) == [1, 2, 3, 4, 5]
    assert panel.worker_counts(16) == [1, 2, 3, 4, 8, 16]
    assert panel.worker_counts(20) == [1, 2, 3, 4, 8, 16, 20]


def test_worker_cap_follows_the_machine(monkeypatch):
    monkeypatch.setattr(system, "usable_cpus", lambda: 1)
    assert panel.worker_cap() == 4
    monkeypatch.setattr(system, "usable_cpus", lambda: 6)
    assert panel.worker_cap() == 12
    monkeypatch.setattr(system, "usable_cpus", lambda: 128)
    assert panel.worker_cap() == launch.MAX_WORKERS


def test_default_workers_is_between_2_and_4(monkeypatch):
    for cpus, expected in [(1, 2), (2, 2), (3, 3), (16, 4)]:
        monkeypatch.setattr(system, "usable_cpus", lambda c=cpus: c)
        assert panel.default_workers() == expected


GOOD = {"kind": "cpu", "mode": "both", "max_workers": 2, "repeats": 2, "seconds": 0.2}


@pytest.mark.parametrize("change, error, words", [
    ({"kind": "gpu"}, ValueError, "kind must be one of"),
    ({"mode": "fibers"}, ValueError, "mode must be one of"),
    ({"max_workers": 1}, ValueError, "at least 2 workers"),
    ({"max_workers": 0}, ValueError, "at least 2 workers"),
    ({"max_workers": 10_000}, ValueError, "goes up to"),
    ({"max_workers": 2.5}, TypeError, "whole number"),
    ({"max_workers": True}, TypeError, "whole number"),
    ({"repeats": 0}, ValueError, "repeats"),
    ({"repeats": panel.MAX_REPEATS + 1}, ValueError, "repeats"),
    ({"seconds": 0}, ValueError, "more than 0"),
    ({"seconds": -1.0}, ValueError, "more than 0"),
    ({"seconds": 1e6}, ValueError, "at most"),
    ({"seconds": "1"}, TypeError, "a number"),
])
def test_bad_settings_are_refused_in_plain_words(change, error, words):
    with pytest.raises(error, match=words):
        panel.validate_settings(**{**GOOD, **change})


def test_good_settings_pass():
    panel.validate_settings(**GOOD)  # does not raise


def test_constructor_refuses_bad_settings_before_starting_anything():
    with pytest.raises(ValueError, match="kind must be one of"):
        SpeedupPanel(kind="gpu")
    with pytest.raises(ValueError, match="at least 2 workers"):
        SpeedupPanel(max_workers=1)


def test_new_panel_shows_an_empty_frame_and_is_ready():
    p = SpeedupPanel(kind="io", max_workers=2)
    assert p.state == "ready" and p.status.value == panel.READY
    assert p.updates == 1 and bytes(p.image.value).startswith(PNG_MAGIC)
    assert p.stop_button.disabled and not p.run_button.disabled
    assert p.settings() == {"kind": "io", "mode": "both", "max_workers": 2, "repeats": panel.default_repeats(),
                            "seconds": 0.4}


def test_controls_carry_css_classes_for_browser_tests():
    p = SpeedupPanel(kind="io", max_workers=2)
    assert "speedup-run" in p.run_button._dom_classes
    assert "speedup-stop" in p.stop_button._dom_classes
    assert "speedup-status" in p.status._dom_classes
    assert "speedup-plot" in p.image._dom_classes


def test_slider_is_capped_for_this_machine():
    p = SpeedupPanel(kind="io", max_workers=2)
    assert p.workers.min == 2
    assert p.workers.max == panel.worker_cap() <= launch.MAX_WORKERS


def test_run_rechecks_settings_changed_after_creation():
    p = SpeedupPanel(kind="io", max_workers=2)
    p.seconds = -1
    with pytest.raises(ValueError, match="more than 0"):
        p.run(wait=True)
    assert p.state == "ready" and not p.running


# --------------------------------------------------------------------------- running


def test_run_wait_measures_every_point_and_redraws_per_point():
    p = SpeedupPanel(kind="io", mode="both", max_workers=2, repeats=2, seconds=0.2)
    sweep = p.run(wait=True)
    assert isinstance(sweep, measure.Sweep) and sweep is p.sweep
    assert not sweep.stopped
    assert sweep.modes() == ["threads", "processes"]
    assert sorted((pt.mode, pt.n_workers) for pt in sweep.points) == [
        ("processes", 1), ("processes", 2), ("threads", 1), ("threads", 2)]
    assert all(len(pt.times) == 2 and min(pt.times) > 0 for pt in sweep.points)
    # once at creation, once when the run starts, once per point, once at the end
    assert p.updates >= 1 + 1 + len(sweep.points) + 1
    assert p.state == "done" and p.status.value == panel.DONE
    assert not p.running and not p.run_button.disabled and p.stop_button.disabled
    # one recorded run per mode, with max_workers workers, for the timelines
    assert sorted(p.timelines) == ["processes", "threads"]
    assert all(run.n_workers == 2 for run in p.timelines.values())
    assert "with 2 workers" in p.result.value


def test_run_threads_only_measures_only_threads():
    p = SpeedupPanel(kind="cpu", mode="threads", max_workers=2, repeats=1, seconds=0.2)
    sweep = p.run(wait=True)
    assert sweep.modes() == ["threads"]
    assert sweep.speedup_at("threads", 2) is not None
    assert list(p.timelines) == ["threads"]


def test_run_button_click_runs_in_the_background():
    p = SpeedupPanel(kind="io", mode="threads", max_workers=2, repeats=1, seconds=0.2)
    p.run_button.click()
    assert p.running or p.state == "done"  # the click returned at once
    sweep = p.wait(timeout=60)
    assert sweep is not None and p.state == "done"


def test_second_run_while_running_is_refused():
    p = SpeedupPanel(kind="io", mode="threads", max_workers=2, repeats=1, seconds=5)
    p.run()
    try:
        with pytest.raises(RuntimeError, match="already going"):
            p.run()
        p.run_button.click()  # the button says so in the status label instead of raising
        assert p.status.value.startswith(panel.FAILED) and "already going" in p.status.value
    finally:
        p.stop()


@pytest.mark.parametrize("mode", ["processes", "threads"])
def test_stop_from_another_thread_ends_a_long_run_quickly(mode):
    p = SpeedupPanel(kind="cpu", mode=mode, max_workers=2, repeats=3, seconds=10)
    p.run()
    time.sleep(1.0)
    assert p.running
    t0 = time.perf_counter()
    stopper = threading.Thread(target=p.stop)
    stopper.start()
    stopper.join(10)
    sweep = p.wait(timeout=10)
    took = time.perf_counter() - t0
    assert took < 3.0, f"Stop took {took:.2f} s"
    assert p.state == "stopped" and p.status.value == panel.STOPPED
    assert sweep is not None and sweep.stopped
    assert not p.running


def test_stop_button_click_stops():
    p = SpeedupPanel(kind="io", mode="processes", max_workers=2, repeats=3, seconds=10)
    p.run()
    time.sleep(0.5)
    p.stop_button.click()
    assert not p.running and p.state == "stopped"


def test_an_error_in_the_run_is_shown_and_reraised(monkeypatch):
    def broken_sweep(*args, **kwargs):
        raise launch.WorkerError("Worker 0 (thread 1) raised ValueError: on purpose", 0)

    monkeypatch.setattr(measure, "sweep", broken_sweep)
    p = SpeedupPanel(kind="io", max_workers=2)
    with pytest.raises(launch.WorkerError, match="on purpose"):
        p.run(wait=True)
    assert p.state == "failed" and p.status.value.startswith(panel.FAILED)
    assert not p.run_button.disabled


def test_panel_can_run_again_after_a_stop():
    p = SpeedupPanel(kind="io", mode="threads", max_workers=2, repeats=1, seconds=5)
    p.run()
    time.sleep(0.3)
    p.stop()
    assert p.state == "stopped"
    p.seconds = 0.2
    sweep = p.run(wait=True)
    assert p.state == "done" and not sweep.stopped


# --------------------------------------------------------------------------- helpers


def test_numpy_runs_limit_blas_to_one_thread():
    pytest.importorskip("threadpoolctl")
    import numpy  # noqa: F401  (loads BLAS so threadpoolctl can see it)
    from threadpoolctl import threadpool_info

    blas = [i for i in threadpool_info() if i["user_api"] == "blas"]
    if not blas:
        pytest.skip("this NumPy has no BLAS library that threadpoolctl can control")
    before = [i["num_threads"] for i in blas]
    with panel.one_blas_thread("numpy"):
        assert all(i["num_threads"] == 1 for i in threadpool_info() if i["user_api"] == "blas")
    assert [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"] == before
    with panel.one_blas_thread("cpu"):  # other work is left alone
        assert [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"] == before


def test_numpy_limit_reaches_threads_and_started_processes():
    """Inside one_blas_thread a worker sees 1 BLAS thread, whether it is a thread or a new process."""
    pytest.importorskip("threadpoolctl")
    if panel.blas_threads() is None:
        pytest.skip("this NumPy has no BLAS library that threadpoolctl can control")
    methods = [m for m in ("fork", "spawn") if m in system.start_methods()]
    before = {name: os.environ.get(name) for name in panel.BLAS_THREAD_VARIABLES}
    with panel.one_blas_thread("numpy"):
        assert launch.run(panel.blas_threads, [()], "threads").records[0].result == 1
        for method in methods:
            run = launch.run(panel.blas_threads, [()], "processes", start_method=method)
            assert run.records[0].result == 1, method
    assert {name: os.environ.get(name) for name in panel.BLAS_THREAD_VARIABLES} == before  # put back


def test_measure_timelines_records_every_worker():
    runs = panel.measure_timelines("io", 0.2, 2, ["threads", "processes"])
    assert sorted(runs) == ["processes", "threads"]
    for run in runs.values():
        assert run.n_workers == 2
        shares = panel.running_shares(run)
        assert len(shares) == 2
        assert all(s is None or 0.0 <= s <= 1.0 for s in shares)


def test_sentences_adapt_to_gil_and_cpus(monkeypatch):
    monkeypatch.setattr(system, "gil_enabled", lambda: True)
    assert "take turns" in panel.gil_sentence()
    monkeypatch.setattr(system, "gil_enabled", lambda: False)
    assert "WITHOUT the GIL" in panel.gil_sentence()
    monkeypatch.setattr(system, "usable_cpus", lambda: 1)
    assert "only 1 CPU" in panel.cpu_sentence()
    monkeypatch.setattr(system, "usable_cpus", lambda: 8)
    assert "above 8x" in panel.cpu_sentence()


def test_summary_reports_measured_numbers():
    sweep = measure.Sweep("cpu", 0.4, "fork", 2, [
        measure.Point("threads", 1, [1.0, 1.0]), measure.Point("threads", 2, [1.0, 1.0]),
        measure.Point("processes", 1, [1.0]), measure.Point("processes", 2, [0.5]),
    ])
    text = panel.summary(sweep)
    assert "Threads: 1.00x with 2 workers" in text and "Processes: 2.00x with 2 workers" in text
    assert "theory expects" in text  # the panel explains, not only reports
    assert "Not enough" in panel.summary(measure.Sweep("cpu", 0.4, None, 2))
    sweep.stopped = True
    assert "stopped early" in panel.summary(sweep)
    stopped_at_once = measure.Sweep("cpu", 0.4, None, 2, [measure.Point("threads", 1, [1.0])], stopped=True)
    assert "Not enough" in panel.summary(stopped_at_once) and "stopped early" in panel.summary(stopped_at_once)


def test_default_repeats_shrink_in_quick_mode(monkeypatch):
    monkeypatch.setenv(system.QUICK_ENV, "1")
    assert panel.default_repeats() == 2
    monkeypatch.setenv(system.QUICK_ENV, "0")
    assert panel.default_repeats() == 3


def test_expected_speedup_follows_gil_kind_and_cpus(monkeypatch):
    monkeypatch.setattr(system, "gil_enabled", lambda: True)
    assert panel.expected_speedup("cpu", "threads", 4, 8) == 1.0
    assert panel.expected_speedup("cpu", "processes", 4, 8) == 4.0
    assert panel.expected_speedup("cpu", "processes", 4, 2) == 2.0
    assert panel.expected_speedup("numpy", "threads", 4, 2) == 2.0
    assert panel.expected_speedup("io", "threads", 4, 1) == 4.0  # waiting needs no CPU
    monkeypatch.setattr(system, "gil_enabled", lambda: False)
    assert panel.expected_speedup("cpu", "threads", 4, 8) == 4.0


def test_explain_speedups_prints_the_measured_numbers_and_flags_surprises(monkeypatch):
    monkeypatch.setattr(system, "gil_enabled", lambda: True)
    sweep = measure.Sweep("cpu", 0.4, "fork", 2, [
        measure.Point("threads", 1, [1.0]), measure.Point("threads", 2, [1.02]),
        measure.Point("processes", 1, [1.0]), measure.Point("processes", 2, [1.0]),
    ])
    text = panel.explain_speedups(sweep, 2)
    threads_line, processes_line = text.splitlines()
    assert "0.98x" in threads_line and "GIL" in threads_line and "further off" not in threads_line
    assert "1.00x" in processes_line and "expects about 2.0x" in processes_line
    assert "further off" in processes_line  # 1.0x where 2.0x was expected is called out
    one_cpu = measure.Sweep("cpu", 0.4, "fork", 1, sweep.points)
    assert "1 usable CPU" in panel.explain_speedups(one_cpu, 2)
    # on 1 CPU the reason given is the CPU, not "its own GIL" (which would promise a speedup)
    assert "own GIL" not in panel.explain_speedups(one_cpu, 2)
    one_cpu_numpy = measure.Sweep("numpy", 0.4, "fork", 1, sweep.points)
    assert "overlap" not in panel.explain_speedups(one_cpu_numpy, 2)


def test_interrupting_a_waiting_run_stops_it_and_leaves_nothing():
    """Ctrl-C / "Interrupt kernel" while run(wait=True) blocks: the run is stopped, then the interrupt goes on."""
    import _thread

    p = SpeedupPanel(kind="cpu", mode="processes", max_workers=2, repeats=3, seconds=10)
    timer = threading.Timer(1.0, _thread.interrupt_main)
    timer.start()
    t0 = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        p.run(wait=True)
    timer.join()
    assert time.perf_counter() - t0 < 6.0
    assert not p.running and p.state == "stopped"


def test_format_shares_says_why_a_share_is_missing():
    def run_with(shares):
        records = [launch.WorkerRecord(i, 1, 1, 0.0, 1.0, 0.5,
                                       samples=[] if s is None else [(0.0, 0, s)])
                   for i, s in enumerate(shares)]
        return launch.RunResult("threads", None, 1.0, records)

    assert panel.format_shares(run_with([0.5, 0.25])) == "0.50, 0.25"
    assert "Linux only" in panel.format_shares(run_with([None, None]))
    partly = panel.format_shares(run_with([None, 0.5]))
    assert partly.startswith("-, 0.50") and "sampler" in partly


def test_physical_ceiling_is_between_1_and_the_usable_cpus(monkeypatch):
    cores = panel.physical_ceiling()
    assert 1 <= cores <= system.usable_cpus()
    monkeypatch.setattr(system, "usable_cpus", lambda: 1)
    assert panel.physical_ceiling() == 1


def test_physical_ceiling_counts_smt_siblings_once(monkeypatch, tmp_path):
    """Two logical CPUs on one core (SMT) count as one physical core."""
    from pathlib import Path

    real_path = Path

    def fake_path(text):
        if str(text).startswith("/sys/devices/system/cpu/cpu"):
            cpu = int(str(text).split("cpu/cpu")[1].split("/")[0])
            folder = tmp_path / f"cpu{cpu}"
            folder.mkdir(exist_ok=True)
            (folder / "physical_package_id").write_text("0\n")
            (folder / "core_id").write_text(f"{cpu // 2}\n")
            return folder
        return real_path(text)

    import pathlib
    monkeypatch.setattr(pathlib, "Path", fake_path)
    monkeypatch.setattr(system, "affinity_cpus", lambda: [0, 1, 2, 3])
    monkeypatch.setattr(system, "usable_cpus", lambda: 4)
    assert panel.physical_ceiling() == 2
    assert "2 physical cores" in panel.cpu_sentence()


def test_panel_plot_draws_the_physical_core_ceiling():
    import matplotlib.figure

    fig = matplotlib.figure.Figure()
    sweep = measure.Sweep("cpu", 0.4, None, 2, [measure.Point("processes", 1, [1.0]),
                                                measure.Point("processes", 2, [0.6])])
    panel.draw_panel(fig, sweep, {}, 2)
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert any("physical core" in label for label in labels), labels

"""What the course reads off the machine: usable CPUs, quotas, start methods, GIL."""

import os
import shutil
import subprocess
import sys

import pytest

from helpers import system


def test_usable_cpus_is_within_the_logical_count():
    assert 1 <= system.usable_cpus() <= system.logical_cpus()


@pytest.mark.skipif(not shutil.which("taskset"), reason="needs taskset (Linux)")
def test_an_affinity_mask_lowers_usable_cpus():
    out = subprocess.run(["taskset", "-c", "0", sys.executable, "-c",
                          "from helpers import system; print(system.usable_cpus())"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"


@pytest.mark.parametrize("content, expected", [
    ("50000 100000\n", 0.5),
    ("250000 100000\n", 2.5),
    ("max 100000\n", None),
])
def test_cgroup_v2_quota_is_read(tmp_path, content, expected):
    (tmp_path / "cpu.max").write_text(content)
    assert system.cgroup_cpu_limit(tmp_path) == expected


def test_cgroup_v1_quota_is_read(tmp_path):
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("100000")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000")
    assert system.cgroup_cpu_limit(tmp_path) == 1.0


def test_missing_cgroup_files_mean_no_quota(tmp_path):
    assert system.cgroup_cpu_limit(tmp_path) is None


def test_course_start_method_follows_the_environment(monkeypatch):
    monkeypatch.delenv(system.START_METHOD_ENV, raising=False)
    assert system.course_start_method() == system.platform_default_start_method()
    monkeypatch.setenv(system.START_METHOD_ENV, "spawn")
    assert system.course_start_method() == "spawn"
    monkeypatch.setenv(system.START_METHOD_ENV, "teleport")
    with pytest.raises(ValueError, match="only offers"):
        system.course_start_method()


def test_quick_mode_flag(monkeypatch):
    monkeypatch.setenv(system.QUICK_ENV, "1")
    assert system.quick_mode()
    monkeypatch.setenv(system.QUICK_ENV, "0")
    assert not system.quick_mode()


def test_gil_state_matches_the_interpreter():
    expected = sys._is_gil_enabled() if hasattr(sys, "_is_gil_enabled") else True
    assert system.gil_enabled() == expected


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="Linux only")
def test_current_cpu_of_this_thread_is_an_allowed_cpu():
    assert system.current_cpu(os.getpid()) in system.affinity_cpus()
    assert system.thread_cpu_seconds(os.getpid()) > 0
    assert system.current_cpu(2**22 + 12345) is None  # no such process


def test_machine_report_reads_well():
    report = system.machine_report()
    text = str(report)
    assert "Usable CPUs" in text and str(report.usable_cpus) in text
    assert report.as_dict()["python"] == report.python


def test_ranges_formatting():
    assert system._ranges([0, 1, 2, 5, 7, 8]) == "0-2, 5, 7-8"

"""Tests for helpers.affinity: topology, the plain-words reasons, and the pictures."""

import platform

import pytest

from helpers import affinity, plots


def test_unsupported_reason_is_empty_where_pinning_works():
    if affinity.pinning_supported():
        assert affinity.unsupported_reason() == ""


@pytest.mark.parametrize("system, words", [("Darwin", "macOS"), ("Windows", "cpu_affinity"),
                                           ("Plan9", "Plan9")])
def test_unsupported_reason_names_the_platform(monkeypatch, system, words):
    monkeypatch.setattr(affinity, "pinning_supported", lambda: False)
    monkeypatch.setattr(platform, "system", lambda: system)
    assert words in affinity.unsupported_reason()


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


def test_drawing_core_samples_spread_and_task_runs():
    fig = plots.figure()
    top, middle, bottom, empty = fig.subplots(4, 1)
    affinity.draw_core_samples(top, [(0.0, "p0", 0), (0.01, "p0", 1), (0.0, "p1", 1)])
    assert [t.get_text() for t in top.get_yticklabels()] == ["p0", "p1"]
    assert [t.get_text() for t in top.get_legend().get_texts()] == ["on CPU 0", "on CPU 1"]
    affinity.draw_spread(middle, {"unpinned": [0.26, 0.27, 0.3], "one CPU": [0.46, 0.5]})
    assert [t.get_text() for t in middle.get_yticklabels()] == ["unpinned", "one CPU"]
    runs = [(0, 0, 10.0, 10.5), (1, 1, 10.0, 10.4), (0, 2, 10.5, 11.0)]
    affinity.draw_task_runs(bottom, runs, ["worker 0 (CPU 1)"], horizon=2.0)
    assert [t.get_text() for t in bottom.get_yticklabels()] == ["worker 0 (CPU 1)", "worker 1"]
    assert "makespan 1.000 s" in bottom.get_title()
    affinity.draw_core_samples(empty, [])  # an OS that does not say: a note, no error
    assert len(plots.to_png(fig)) > 1000

"""Tests for helpers.speedup_exercises: the checks of lesson 03 say Correct only for right answers."""

from __future__ import annotations

import pytest

from helpers import exercises, measure, system
from helpers import speedup_exercises as ex


@pytest.fixture
def sweep() -> measure.Sweep:
    return measure.Sweep("cpu", 0.4, "fork", 2, [
        measure.Point("threads", 1, [1.0, 1.1]), measure.Point("threads", 2, [1.0, 1.2]),
        measure.Point("processes", 1, [1.0, 1.0, 1.0]), measure.Point("processes", 2, [0.6, 0.55, 0.7]),
    ])


def test_thread_prediction_with_gil(monkeypatch, capsys):
    monkeypatch.setattr(system, "gil_enabled", lambda: True)
    assert ex.check_thread_prediction(1.0)
    assert ex.check_thread_prediction(1.2)
    assert not ex.check_thread_prediction(2.0)
    assert not ex.check_thread_prediction(...)
    out = capsys.readouterr().out
    assert out.count("Correct!") == 2 and out.count("Not yet.") == 2


def test_thread_prediction_without_gil(monkeypatch):
    monkeypatch.setattr(system, "gil_enabled", lambda: False)
    monkeypatch.setattr(system, "usable_cpus", lambda: 4)
    assert ex.check_thread_prediction(2.0)
    assert not ex.check_thread_prediction(1.0)


def test_efficiency_is_recomputed_from_the_same_sweep(sweep):
    right = sweep.speedup_at("processes", 2) / 2
    assert ex.check_efficiency(right, sweep)
    assert not ex.check_efficiency(right + 0.05, sweep)
    assert not ex.check_efficiency(sweep.speedup_at("processes", 2), sweep)  # forgot to divide
    assert not ex.check_efficiency("0.9", sweep)


def test_efficiency_without_the_point_says_what_to_do(sweep, capsys):
    threads_only = measure.Sweep("cpu", 0.4, None, 2, [p for p in sweep.points if p.mode == "threads"])
    assert not ex.check_efficiency(0.5, threads_only)
    assert "no processes point" in capsys.readouterr().out


def test_mode_choice(monkeypatch):
    monkeypatch.setattr(system, "gil_enabled", lambda: True)
    assert ex.check_mode_choice("download", "threads")
    assert not ex.check_mode_choice("download", "processes")
    assert ex.check_mode_choice("simulate", "processes")
    assert not ex.check_mode_choice("simulate", "threads")
    assert not ex.check_mode_choice("simulate", "fibers")
    assert not ex.check_mode_choice("simulate", ...)
    monkeypatch.setattr(system, "gil_enabled", lambda: False)
    assert ex.check_mode_choice("simulate", "threads")
    with pytest.raises(ValueError, match="Unknown job"):
        ex.check_mode_choice("mine bitcoin", "threads")


def test_quiz_answers_grade_as_right_and_others_as_wrong():
    right = exercises.grade(ex.QUIZ, [q.answer for q in ex.QUIZ])
    assert all(right)
    wrong = exercises.grade(ex.QUIZ, [(q.answer + 1) % len(q.options) for q in ex.QUIZ])
    assert not any(wrong)

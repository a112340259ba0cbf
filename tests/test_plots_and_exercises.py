"""Figures draw with labelled axes; exercise checks accept right and reject wrong answers."""

import pytest

from helpers import exercises, launch, measure, plots


def test_speedup_plot_has_labels_ideal_and_ceiling():
    s = measure.Sweep("cpu", 1.0, "fork", 2)
    s.points = [measure.Point("threads", 1, [1.0]), measure.Point("threads", 2, [0.9]),
                measure.Point("processes", 1, [1.0]), measure.Point("processes", 2, [0.52])]
    fig = plots.figure()
    ax = fig.add_subplot()
    plots.draw_speedup(ax, s)
    assert "speedup" in ax.get_ylabel() and "workers" in ax.get_xlabel()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("ideal" in t for t in labels) and any("2 usable" in t for t in labels)
    assert plots.to_png(fig)[:4] == b"\x89PNG"


def test_timeline_draws_one_row_per_worker():
    run = launch.run_workload("cpu", 0.2, 2, "processes")
    fig = plots.figure()
    ax = fig.add_subplot()
    plots.draw_timeline(ax, run)
    assert len(ax.get_yticks()) == 2
    assert "time" in ax.get_xlabel()


def test_live_figure_updates_its_image():
    live = plots.LiveFigure(lambda fig: fig.add_subplot().plot([1, 2], [1, 2]))
    live.update()
    live.update()
    assert live.updates == 2 and live.image.value[:4] == b"\x89PNG"


def test_check_number_accepts_within_tolerance_and_rejects_outside(capsys):
    assert exercises.check_number(1.05, 1.0, tolerance=0.1)
    assert not exercises.check_number(2.0, 1.0, tolerance=0.1, hint="Think of the GIL.")
    assert "Think of the GIL." in capsys.readouterr().out
    assert not exercises.check_number(..., 1.0)
    assert not exercises.check_number("one", 1.0)


def test_check_choice():
    assert exercises.check_choice("processes", "processes")
    assert not exercises.check_choice("threads", "processes", hint="CPU-bound work needs cores.")


QUESTIONS = [exercises.Question("2 + 2?", ["3", "4"], 1, "Count them."),
             exercises.Question("Threads share?", ["memory", "nothing"], 0, "One address space.")]


def test_grade_marks_each_answer_by_its_shown_place():
    layout = exercises.quiz_layout(QUESTIONS)
    right = [place for _, place in layout]
    assert [options[place] for options, place in layout] == ["4", "memory"]
    assert right[0] != right[1]  # the right answers take turns over the places
    marks = exercises.grade(QUESTIONS, [right[0], 1 - right[1]])
    assert [m.correct for m in marks] == [True, False]
    assert not exercises.grade(QUESTIONS, [None, 0])[0]
    with pytest.raises(ValueError):
        exercises.grade(QUESTIONS, [1])


def test_quiz_widget_shows_nothing_until_checked_then_grades():
    box = exercises.quiz(QUESTIONS)
    assert box.children[-1].value == ""
    right = [place for _, place in exercises.quiz_layout(QUESTIONS)]
    box.pickers[0].index = right[0]
    box.pickers[1].index = 1 - right[1]
    box.check()
    assert "1 of 2 right" in box.children[-1].value


def test_a_question_whose_answer_is_not_an_option_is_refused():
    with pytest.raises(ValueError, match="answer"):
        exercises.Question("?", ["a", "b"], 2, "")

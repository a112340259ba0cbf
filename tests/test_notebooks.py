"""The shape every lesson promises, checked on the stored notebooks.

- the concurrency code is in the cells (issue: "the learner sees and writes the code");
- every exercise is followed by a hidden solution cell, which nbval runs;
- quizzes: the right answers are spread over positions, and nothing shows them
  (or their explanations) before the learner answers; the quizzes are graded here,
  so a lesson needs no grading cell;
- notebooks are stored without outputs except the cells nbval compares.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from helpers import exercises

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))
LESSONS = [p for p in NOTEBOOKS if not p.name.startswith("00_")]

#: Code that creates or uses a thread, a process or a synchronisation tool directly.
PRIMITIVE = re.compile(
    r"threading\.Thread\(|\bThread\(|\.Process\(|\bProcess\(|\.start\(\)|\.join\(|"
    r"\bwith [\w.\[\]]*(lock|sem|cond)\w*:|Lock\(|Semaphore\(|Condition\(|Event\(|Barrier\(|"
    r"\.acquire\(|\.release\(|\.get\(timeout|\.put\(|\.wait\(|\.submit\(|"
    r"Queue\(|Pipe\(|SharedMemory\(|Value\(|Array\(|Executor\(|\.Pool\(|\bPool\(")
CHECK_MARK = "NBVAL_CHECK_OUTPUT"


def read(path: Path):
    return nbformat.read(path, as_version=4)


def is_solution(cell) -> bool:
    return "solution" in cell.metadata.get("tags", [])


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def quiz_cells(nb):
    return [c for c in code_cells(nb) if "exercises.quiz(" in c.source]


def questions_of(nb) -> list[exercises.Question]:
    found = []
    for cell in quiz_cells(nb):
        namespace = {"exercises": exercises}
        exec(compile(cell.source, "<quiz cell>", "exec"), namespace)
        quiz = namespace.get("QUIZ")
        assert quiz, "a quiz cell defines QUIZ = [exercises.Question(...), ...]"
        found += quiz
    return found


def exercises_of(nb) -> list[tuple[int, str]]:
    """(cell index, heading) of every markdown cell that starts an exercise."""
    return [(i, c.source.splitlines()[0]) for i, c in enumerate(nb.cells)
            if c.cell_type == "markdown" and re.match(r"#+ .*Exercise", c.source)]


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_the_concurrency_code_is_in_the_cells(path):
    shown = [c for c in code_cells(read(path))
             if not is_solution(c) and PRIMITIVE.search(c.source)]
    assert len(shown) >= 3, (f"{path.name}: only {len(shown)} non-solution code cells create or "
                             "use threads, processes, locks, queues or pools")


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_at_least_two_exercises_where_the_learner_writes_concurrent_code(path):
    nb = read(path)
    writes = [c for c in code_cells(nb) if is_solution(c) and PRIMITIVE.search(c.source)]
    assert len(writes) >= 2, f"{path.name}: {len(writes)} solutions use threads/processes/locks"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_exercise_is_followed_by_a_hidden_solution(path):
    nb = read(path)
    starts = exercises_of(nb)
    headings = [i for i, c in enumerate(nb.cells)
                if c.cell_type == "markdown" and c.source.startswith("#")]
    for start, title in starts:
        end = min([h for h in headings if h > start] + [len(nb.cells)])
        solutions = [c for c in nb.cells[start:end] if c.cell_type == "code" and is_solution(c)]
        assert solutions, f"{path.name}: {title!r} has no solution cell (tag 'solution')"
        for cell in solutions:
            hidden = cell.metadata.get("jupyter", {})
            assert hidden.get("source_hidden"), f"{path.name}: the solution of {title!r} shows"
            assert hidden.get("outputs_hidden"), (f"{path.name}: the output of {title!r}'s "
                                                  "solution shows (it may praise or reveal)")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_the_quiz_grades_and_spreads_its_right_answers(path):
    nb = read(path)
    questions = questions_of(nb)
    if not questions:
        pytest.skip(f"{path.name} has no quiz")
    places = [right for _, right in exercises.quiz_layout(questions)]
    wrong = [(right + 1) % len(q.options) for q, right in zip(questions, places)]
    assert all(m.correct for m in exercises.grade(questions, places))
    assert not any(m.correct for m in exercises.grade(questions, wrong))
    box = exercises.quiz(questions)  # the widget too: pick the right ones, press Check
    for picker, right in zip(box.pickers, places):
        picker.index = right
    box.check()
    assert f"{len(questions)} of {len(questions)} right" in box.children[-1].value
    if len(questions) >= 2:
        most = max(places.count(p) for p in set(places))
        assert most <= len(questions) / 2, (
            f"{path.name}: {most} of {len(questions)} right answers sit in one position {places}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_no_cell_shows_the_quiz_answers_before_the_learner_answers(path):
    nb = read(path)
    for cell in quiz_cells(nb):  # its source holds the answers: hidden, and not on the website
        assert cell.metadata.get("jupyter", {}).get("source_hidden"), f"{path.name}: quiz source shows"
        assert "remove-input" in cell.metadata.get("tags", []), f"{path.name}: quiz source on the site"
    explanations = [q.why for q in questions_of(nb)]
    quiz_sources = {c.source for c in quiz_cells(nb)}
    for cell in code_cells(nb):
        if cell.source in quiz_sources:
            continue
        assert not re.search(r"\.check\(\)|\.pickers|exercises\.grade\(|\bQUIZ\b", cell.source), (
            f"{path.name}: a cell grades or reads the quiz:\n{cell.source[:200]}")
        stored = nbformat.writes(nbformat.v4.new_notebook(cells=[cell]))
        for why in explanations:
            assert why[:60] not in stored, f"{path.name}: a stored output shows an explanation"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_stored_without_outputs_except_checked_cells(path):
    for cell in code_cells(read(path)):
        checked = CHECK_MARK in cell.source or "nbval-check-output" in cell.metadata.get("tags", [])
        if not checked:
            assert not cell.outputs, f"{path.name}: unchecked cell stored with output:\n{cell.source[:120]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_no_test_only_clutter(path):
    for cell in code_cells(read(path)):
        assert "assert launch.leftover_workers()" not in cell.source, path.name

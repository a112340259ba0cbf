"""Immediate feedback for exercises, and small self-check quizzes.

An exercise cell ends with a check such as::

    exercises.check_number(my_speedup, expected=1.0, tolerance=0.3,
                           hint="Threads running pure Python take turns holding the GIL.")

which prints ``Correct`` or ``Not yet`` with a hint. Each lesson module keeps
its own checks (they know the right answer); this module has the shared parts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Feedback:
    """The verdict on one answer. ``bool(feedback)`` is True when it is correct."""

    correct: bool
    message: str

    def __bool__(self) -> bool:
        return self.correct

    def __str__(self) -> str:
        return ("Correct! " if self.correct else "Not yet. ") + self.message

    __repr__ = __str__

    def _ipython_display_(self) -> None:
        """Show nothing as a cell's result: the check has printed the verdict already."""


def feedback(correct: bool, praise: str, hint: str) -> Feedback:
    """``praise`` if ``correct``, else ``hint``."""
    return Feedback(bool(correct), praise if correct else hint)


def check_number(answer: object, expected: float, tolerance: float = 0.0, hint: str = "",
                 praise: str = "") -> Feedback:
    """Is ``answer`` a number within ``tolerance`` of ``expected``? Prints and returns the verdict."""
    if answer is None or answer is Ellipsis:
        result = Feedback(False, "Replace the ... with your answer, then run the cell again.")
    elif isinstance(answer, bool) or not isinstance(answer, (int, float)):
        result = Feedback(False, f"The answer should be a number, not {answer!r}.")
    else:
        result = feedback(abs(answer - expected) <= tolerance,
                          praise or f"{answer:g} is right.", hint or f"{answer:g} is not it.")
    print(result)
    return result


def check_choice(answer: object, expected: object, hint: str = "", praise: str = "") -> Feedback:
    """Is ``answer`` equal to ``expected`` (e.g. "threads" or "processes")? Prints and returns the verdict."""
    if answer is None or answer is Ellipsis:
        result = Feedback(False, "Replace the ... with your answer, then run the cell again.")
    else:
        result = feedback(answer == expected, praise or f"{answer!r} is right.",
                          hint or f"{answer!r} is not it.")
    print(result)
    return result


@dataclass(frozen=True)
class Question:
    """One multiple-choice question: the text, the options, the index of the right one, and why.

    Write the right option anywhere (``answer`` is its index in ``options``); the
    quiz decides where it shows it (:func:`quiz_layout`).
    """

    text: str
    options: Sequence[str]
    answer: int
    why: str

    def __post_init__(self) -> None:
        if not (isinstance(self.answer, int) and 0 <= self.answer < len(self.options)):
            raise ValueError(f"answer must be the index of one of the {len(self.options)} "
                             f"options; got {self.answer!r} for {self.text[:40]!r}.")

    def shown(self, place: int) -> list[str]:
        """The options as the quiz shows them: the right one at ``place``, the rest shuffled.

        The shuffle's seed comes from the question's text, so the order is the same
        on every run.
        """
        import random
        import zlib

        others = [o for i, o in enumerate(self.options) if i != self.answer]
        random.Random(zlib.crc32(self.text.encode())).shuffle(others)
        return others[:place] + [self.options[self.answer]] + others[place:]


def quiz_layout(questions: Sequence[Question]) -> list[tuple[list[str], int]]:
    """Each question's options in the order shown, and the right option's place.

    The right answers take turns over the places (first, second, third, ...), so
    no place holds more than its share and the longest option is not a give-away.
    """
    import zlib

    start = zlib.crc32(questions[0].text.encode()) if questions else 0
    layout = []
    for i, q in enumerate(questions):
        place = (start + i) % len(q.options)
        layout.append((q.shown(place), place))
    return layout


def grade(questions: Sequence[Question], choices: Sequence[int | None]) -> list[Feedback]:
    """Mark each choice -- an index into the options *as shown* (None = not answered)."""
    marks = []
    layout = quiz_layout(questions)
    for q, choice, (_, right) in zip(questions, choices, layout, strict=True):
        if choice is None:
            marks.append(Feedback(False, "Pick an answer first."))
        else:
            marks.append(feedback(choice == right, q.why, f"Not that one. {q.why}"))
    return marks


def quiz(questions: Sequence[Question]):
    """A self-check quiz widget: pick an option per question, press Check, read the explanations.

    Nothing about the right answers is shown until the learner presses Check.
    (The test suite grades every notebook's quiz; a lesson needs no grading cell.)
    """
    import ipywidgets as widgets

    pickers, verdicts, boxes = [], [], []
    for i, (q, (options, _)) in enumerate(zip(questions, quiz_layout(questions)), 1):
        picker = widgets.RadioButtons(options=options, value=None,
                                      layout=widgets.Layout(width="auto"))
        verdict = widgets.HTML()
        pickers.append(picker)
        verdicts.append(verdict)
        boxes.append(widgets.VBox([widgets.HTML(f"<b>{i}. {q.text}</b>"), picker, verdict]))
    button = widgets.Button(description="Check my answers", button_style="primary")
    score = widgets.HTML()

    def on_check(_=None) -> None:
        choices = [None if p.index is None else p.index for p in pickers]
        marks = grade(questions, choices)
        for verdict, mark in zip(verdicts, marks):
            colour = "green" if mark.correct else "#b00"
            verdict.value = f"<span style='color:{colour}'>{mark}</span>"
        score.value = f"<b>{sum(m.correct for m in marks)} of {len(marks)} right.</b>"

    button.on_click(on_check)
    box = widgets.VBox([*boxes, button, score])
    box.check = on_check  # so code (and tests) can press the button
    box.pickers = pickers
    return box

"""A step-by-step model of two threads running ``counter += 1`` -- you choose who runs when.

``counter += 1`` looks like one step, but the machine does three:

1. **LOAD**  -- copy the shared counter into the thread's own register,
2. **ADD**   -- add 1 to the register,
3. **STORE** -- write the register back to the shared counter.

A *schedule* says which thread does its next step, e.g. ``"AABBAB"``: A, A, B,
B, A, B. Some schedules lose an update. This module is a pure-Python model,
not real threads: the same schedule always gives the same result, so you can
find the bad schedules by hand (the real threads in :mod:`helpers.hazards`
show that they do happen).

With ``locked=True`` each thread also runs ACQUIRE before and RELEASE after
its three steps; a thread that tries to ACQUIRE a lock the other holds is
*blocked*: its turn passes and it tries again the next time it is scheduled.

::

    from helpers import interleaving
    trace = interleaving.run_schedule("ABABAB")
    print(trace)            # one row per step: who did what, registers, shared value
    trace.lost              # updates lost (1 here)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations

from .exercises import Feedback

__all__ = ["run_schedule", "check_schedule", "Trace", "Step", "program", "verdict",
           "all_schedules", "count_outcomes", "check_lost_update", "explorer", "THREADS"]

THREADS = ("A", "B")
#: The longest schedule the model accepts (letters). Without a lock a schedule is at most
#: 30 letters long; with one, blocked attempts add letters, but never this many.
MAX_SCHEDULE = 1000
STEPS = ("LOAD", "ADD", "STORE")
LOCKED_STEPS = ("ACQUIRE", "LOAD", "ADD", "STORE", "RELEASE")


@dataclass(frozen=True)
class Step:
    """One step of a schedule, and the state right after it."""

    number: int
    thread: str
    action: str            # e.g. "LOAD" or "ACQUIRE (blocked)"
    registers: dict[str, int | None]
    shared: int
    lock_holder: str | None = None


@dataclass
class Trace:
    """Everything that happened when a schedule ran."""

    schedule: str
    locked: bool
    increments: int
    steps: list[Step] = field(default_factory=list)
    shared: int = 0
    #: steps each thread has done (blocked attempts not counted), kept up to date by _advance
    done: dict[str, int] = field(default_factory=lambda: dict.fromkeys(THREADS, 0))

    @property
    def complete(self) -> bool:
        """True when every thread has finished all its steps."""
        return all(self.remaining(t) == 0 for t in THREADS)

    def remaining(self, thread: str) -> int:
        """Steps ``thread`` still has to do (not counting blocked attempts)."""
        return len(program(self.locked, self.increments)) - self.done[thread]

    @property
    def expected(self) -> int:
        """What the shared counter should hold when both threads have finished."""
        return len(THREADS) * self.increments

    @property
    def lost(self) -> int | None:
        """Updates lost (expected minus final); None while the schedule is unfinished."""
        return self.expected - self.shared if self.complete else None

    def __str__(self) -> str:
        lock = self.locked
        head = f"{'step':>4}  {'thread':<6} {'action':<18} {'reg A':>5} {'reg B':>5} {'shared':>6}"
        if lock:
            head += "  lock held by"
        rows = [f"schedule {self.schedule!r}" + (" (with a lock)" if lock else ""), head]
        for s in self.steps:
            regs = [("-" if s.registers[t] is None else str(s.registers[t])) for t in THREADS]
            row = f"{s.number:>4}  {s.thread:<6} {s.action:<18} {regs[0]:>5} {regs[1]:>5} {s.shared:>6}"
            if lock:
                row += f"  {s.lock_holder or '-'}"
            rows.append(row)
        rows.append(verdict(self))
        return "\n".join(rows)


def program(locked: bool = False, increments: int = 1) -> tuple[str, ...]:
    """The steps one thread runs: LOAD, ADD, STORE per increment (wrapped in ACQUIRE/RELEASE if locked)."""
    return (LOCKED_STEPS if locked else STEPS) * increments


def verdict(trace: Trace) -> str:
    """One sentence on the outcome of a trace."""
    if not trace.complete:
        left = ", ".join(f"{t}: {trace.remaining(t)}" for t in THREADS)
        return f"not finished yet (steps left -- {left}); shared counter = {trace.shared}"
    if trace.lost:
        return (f"finished: shared counter = {trace.shared}, expected {trace.expected} "
                f"-> {trace.lost} update(s) LOST")
    return f"finished: shared counter = {trace.shared}, expected {trace.expected} -> no update lost"


def check_schedule(schedule: object, locked: bool = False, increments: int = 1) -> str:
    """Return the schedule in upper case, or raise a ValueError/TypeError that says what is wrong.

    A schedule is a string of the letters A and B (spaces are ignored). Each
    letter gives that thread one more step; a thread has only so many steps
    (3 per increment, 5 with a lock), so a letter after its last step is an error.
    With a lock, a blocked attempt does not use up a step.
    """
    if not isinstance(schedule, str):
        raise TypeError(f"A schedule is a string of A's and B's such as 'AABBAB', "
                        f"not {schedule!r}.")
    cleaned = schedule.replace(" ", "").upper()
    if len(cleaned) > MAX_SCHEDULE:
        raise ValueError(f"A schedule of {len(cleaned):,} steps is far more than two threads "
                         f"need; the model takes at most {MAX_SCHEDULE:,} letters.")
    for position, letter in enumerate(cleaned, 1):
        if letter not in THREADS:
            raise ValueError(f"Schedule {schedule!r} has {letter!r} at position {position}. "
                             f"Use only the letters A and B (one per step).")
    if not locked:
        size = len(program(False, increments))
        for t in THREADS:
            if cleaned.count(t) > size:
                extra = [i for i, c in enumerate(cleaned, 1) if c == t][size]
                raise ValueError(
                    f"Schedule {schedule!r} gives thread {t} {cleaned.count(t)} steps, but it "
                    f"only has {size} ({', '.join(program(False, increments))}). "
                    f"Step {extra} is one too many.")
    return cleaned


def run_schedule(schedule: str, locked: bool = False, increments: int = 1) -> Trace:
    """Run the two-thread model on ``schedule`` and return the full :class:`Trace`.

    The shared counter starts at 0; each thread adds 1 ``increments`` times.
    The schedule may stop early (the trace is then not ``complete``).
    Raises ValueError for letters other than A/B, more steps than a thread has, or
    more than ``MAX_SCHEDULE`` letters. Takes time in proportion to the schedule's length.
    """
    if isinstance(increments, bool) or not isinstance(increments, int) or not 1 <= increments <= 5:
        raise ValueError(f"increments must be a whole number from 1 to 5, not {increments!r}.")
    cleaned = check_schedule(schedule, locked, increments)
    trace = Trace(cleaned, locked, increments)
    for letter in cleaned:
        _advance(trace, letter, schedule)
    return trace


def _advance(trace: Trace, thread: str, schedule: str = "") -> Step:
    """Do ``thread``'s next step on ``trace`` (in place) and return it."""
    steps = program(trace.locked, trace.increments)
    done = trace.done[thread]
    if done >= len(steps):
        raise ValueError(f"Thread {thread} has already finished all {len(steps)} of its steps"
                         + (f" (schedule {schedule!r})." if schedule else "."))
    prev = trace.steps[-1] if trace.steps else None
    registers = dict(prev.registers) if prev else dict.fromkeys(THREADS)
    holder = prev.lock_holder if prev else None
    action = steps[done]
    if action == "ACQUIRE":
        if holder not in (None, thread):
            action = "ACQUIRE (blocked)"          # the other thread holds the lock: wait
        else:
            holder = thread
    elif action == "RELEASE":
        holder = None
    elif action == "LOAD":
        registers[thread] = trace.shared
    elif action == "ADD":
        registers[thread] += 1
    elif action == "STORE":
        trace.shared = registers[thread]
    if "blocked" not in action:
        trace.done[thread] += 1
    step = Step(len(trace.steps) + 1, thread, action, registers, trace.shared, holder)
    trace.steps.append(step)
    return step


def all_schedules() -> list[str]:
    """Every order in which two threads' LOAD/ADD/STORE steps can interleave (one increment each).

    There are 20: choose which 3 of the 6 steps belong to thread A.
    """
    return ["".join("A" if i in chosen else "B" for i in range(6))
            for chosen in combinations(range(6), 3)]


def count_outcomes() -> dict[int, int]:
    """Final counter value -> how many of the 20 :func:`all_schedules` end with it."""
    outcomes: dict[int, int] = {}
    for schedule in all_schedules():
        shared = run_schedule(schedule).shared
        outcomes[shared] = outcomes.get(shared, 0) + 1
    return dict(sorted(outcomes.items()))


def check_lost_update(schedule: object) -> Feedback:
    """Exercise check: is ``schedule`` a complete schedule that loses an update? Prints the verdict."""
    if schedule is None or schedule is Ellipsis:
        result = Feedback(False, "Replace the ... with a schedule string such as 'AAABBB'.")
    else:
        try:
            trace = run_schedule(schedule)  # type: ignore[arg-type]
        except (TypeError, ValueError) as exc:
            result = Feedback(False, str(exc))
        else:
            if not trace.complete:
                result = Feedback(False, f"{verdict(trace)}. Give each thread all 3 steps "
                                         f"(3 A's and 3 B's).")
            elif trace.lost:
                result = Feedback(True, f"{trace.schedule!r} ends with the counter at "
                                        f"{trace.shared}: both threads LOADed before either "
                                        f"STOREd, so one write overwrote the other.")
            else:
                result = Feedback(False, f"{trace.schedule!r} ends at {trace.shared}, which is "
                                         f"right. Try letting B LOAD before A has STOREd.")
    print(result)
    return result


# --------------------------------------------------------------------------- widget


def explorer(locked: bool = False):
    """A widget to step two threads by hand (Step A / Step B / Reset) or run a typed schedule.

    It shows each thread's next step, both registers, the shared counter and
    the trace so far. Returns the widget box; ``box.trace`` is the current trace.
    """
    import html

    import ipywidgets as widgets

    lock_box = widgets.Checkbox(value=locked, description="use a lock")
    step_a = widgets.Button(description="step thread A", button_style="info")
    step_b = widgets.Button(description="step thread B", button_style="warning")
    reset = widgets.Button(description="reset")
    text = widgets.Text(placeholder="e.g. AABBAB", description="schedule:")
    run = widgets.Button(description="run schedule", button_style="primary")
    state = widgets.HTML()
    table = widgets.HTML()
    box = widgets.VBox([widgets.HBox([step_a, step_b, reset, lock_box]),
                        widgets.HBox([text, run]), state, table])
    box.trace = Trace("", locked, 1)

    def show(message: str = "") -> None:
        trace = box.trace
        steps = program(trace.locked, trace.increments)
        cells = []
        last = trace.steps[-1] if trace.steps else None
        for t in THREADS:
            done = trace.done[t]
            nxt = steps[done] if done < len(steps) else "finished"
            reg = "-" if last is None or last.registers[t] is None else last.registers[t]
            cells.append(f"<td><b>thread {t}</b><br>register: {reg}<br>next: {nxt}</td>")
        holder = f"<br>lock held by: {last.lock_holder or 'nobody'}" if trace.locked and last else ""
        cells.insert(1, f"<td style='background:#eee'><b>shared counter: {trace.shared}</b>"
                        f"{holder}</td>")
        state.value = ("<table style='border-spacing:12px'><tr>" + "".join(cells) + "</tr></table>"
                       + f"<p>{html.escape(message or verdict(trace))}</p>")
        table.value = f"<pre>{html.escape(str(trace))}</pre>" if trace.steps else ""
        step_a.disabled = trace.remaining("A") == 0
        step_b.disabled = trace.remaining("B") == 0

    def on_step(thread: str) -> None:
        box.trace.schedule += thread
        _advance(box.trace, thread)
        show()

    def on_reset(_=None) -> None:
        box.trace = Trace("", lock_box.value, 1)
        show()

    def on_run(_=None) -> None:
        if not text.value.strip():
            show("The schedule box is empty: type a schedule such as AABBAB (one letter per "
                 "step: A = thread A, B = thread B), then press run schedule. Or press the "
                 "step buttons.")
            return
        try:
            box.trace = run_schedule(text.value, lock_box.value)
        except (TypeError, ValueError) as exc:
            box.trace = Trace("", lock_box.value, 1)
            show(str(exc))
            return
        show()

    step_a.on_click(lambda _: on_step("A"))
    step_b.on_click(lambda _: on_step("B"))
    reset.on_click(on_reset)
    run.on_click(on_run)
    lock_box.observe(lambda _: on_reset(), names="value")
    box.step = on_step        # so code (and tests) can press the buttons
    box.run_text = lambda s: (setattr(text, "value", s), on_run())
    show()
    return box

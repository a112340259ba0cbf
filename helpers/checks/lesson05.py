"""Checkers for lesson 05's exercises: they run *your* function in many threads at once.

Each checker calls your function from many threads that start together, with
thread switches forced as often as Python allows (a tiny
``sys.setswitchinterval``, restored afterwards) and a pause injected between
each read and write of the shared data, so a race that could happen does
happen. The locks it hands you can be freed from outside, so a function that
deadlocks or never releases a lock is reported within seconds and leaves no
thread stuck.

- :func:`check_safe_increment` -- ``safe_increment(counter, lock, times)``
- :func:`check_transfer` -- ``transfer(source, target, amount)``
- :func:`check_sell` -- ``sell(show, lock, buyer)``
"""

from __future__ import annotations

import contextlib
import inspect
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from ..checking import missing_answer, report
from ..exercises import Feedback
from ..hazards import FREED, FreeableLock, find_cycle, holds_and_waits
from ..safety import stack_of, watch

__all__ = ["check_safe_increment", "check_transfer", "check_sell"]

#: Seconds all calls together may take before the checker gives up on them.
DEADLINE = 5.0


@contextlib.contextmanager
def forced_switching(interval: float = 1e-6) -> Iterator[None]:
    """Let Python switch threads as often as it can inside the block; restore it afterwards."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(interval)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


@dataclass
class _Run:
    """What happened when many threads called the learner's function."""

    results: list = field(default_factory=list)
    errors: list[tuple[str, BaseException]] = field(default_factory=list)
    stuck: dict[str, str] = field(default_factory=dict)      # thread -> where it waited
    snapshot: tuple = ({}, {})                                # holds, waits when stuck
    still_running: list[str] = field(default_factory=list)    # not even freeing helped


def _call_together(fn: Callable, calls: Sequence[tuple], locks: Sequence[FreeableLock],
                   deadline: float = DEADLINE) -> _Run:
    """Call ``fn(*args)`` for every ``args`` in ``calls``, each in its own thread, all at once.

    Threads still running at ``deadline`` are recorded (with where they wait), then
    the locks are freed so they leave; nothing is left running when this returns,
    unless the function loops for ever without touching a lock.
    """
    run = _Run(results=[None] * len(calls))
    start = threading.Barrier(len(calls))

    def body(i: int, args: tuple) -> None:
        try:
            start.wait(timeout=5)
        except threading.BrokenBarrierError:
            return
        try:
            run.results[i] = fn(*args)
        except SystemExit as exc:
            if exc.code != FREED:
                run.errors.append((threading.current_thread().name, exc))
        except BaseException as exc:  # report anything, never die
            run.errors.append((threading.current_thread().name, exc))

    threads = [threading.Thread(target=body, args=(i, args), name=f"caller-{i + 1}", daemon=True)
               for i, args in enumerate(calls)]
    # The watch stops any process the learner's code started and left behind.
    with watch(deadline + 5, report=False, grace=1.0), forced_switching():
        for t in threads:
            t.start()
        end = time.monotonic() + deadline
        for t in threads:
            t.join(max(0.0, end - time.monotonic()))
    alive = [t for t in threads if t.is_alive()]
    if alive:
        run.snapshot = holds_and_waits(locks)
        run.stuck = {t.name: stack_of(t) for t in alive}
        for lock in locks:
            lock.free()
        freed_by = time.monotonic() + 2.0  # 2 s for all of them together, not each
        for t in alive:
            t.join(max(0.0, freed_by - time.monotonic()))
        run.still_running = [t.name for t in alive if t.is_alive()]
    return run


def _error_text(name: str, exc: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/helpers/" not in f.filename]
    where = f" (line {frames[-1].lineno}: {frames[-1].line})" if frames and frames[-1].line else ""
    if isinstance(exc, SystemExit):
        return f"{name} called sys.exit({exc.code!r}){where}. Return instead of exiting."
    return f"{name} raised {type(exc).__name__}: {exc}{where}"


def _stuck_text(run: _Run, what: str) -> str:
    """A plain report of threads that were still waiting at the deadline."""
    first = next(iter(run.stuck.items()))
    text = (f"{len(run.stuck)} of the calls of {what} were still running after {DEADLINE:g} s. "
            f"{first[0]} was waiting here:\n{first[1]}")
    if run.still_running:
        text += ("\nSome never ended even when their locks were freed (a loop that never "
                 "stops?). Restart the kernel once you have fixed it.")
    return text


def _leave_if_freed(lock: FreeableLock) -> None:
    """After the deadline, a caller that touches the shared data leaves (a loop that never ends)."""
    if lock.is_freed():
        raise SystemExit(FREED)


def _source_makes_a_lock(fn: Callable) -> bool:
    try:
        return "Lock(" in inspect.getsource(fn)
    except (OSError, TypeError):
        return False


# --------------------------------------------------------------------------- exercise 1


class _Counter:
    """A shared counter whose ``value`` pauses on every read and write, and notes the lock."""

    def __init__(self, lock: FreeableLock) -> None:
        self._value = 0
        self._lock = lock
        self._seen: dict[int, int] = {}
        self.unlocked_reads: list[int] = []
        self.unlocked_writes: list[int] = []
        self.split: list[int] = []         # read and write under the lock, but released between

    @property
    def value(self) -> int:
        _leave_if_freed(self._lock)
        seen = self._value
        me = threading.get_ident()
        if not self._lock.held_by_me():
            self.unlocked_reads.append(1)
        self._seen[me] = self._lock.acquisitions
        time.sleep(0)                      # another thread may run here
        return seen

    @value.setter
    def value(self, new: int) -> None:
        _leave_if_freed(self._lock)
        time.sleep(0)                      # ... and here
        if not self._lock.held_by_me():
            self.unlocked_writes.append(1)
        elif self._seen.get(threading.get_ident()) != self._lock.acquisitions:
            self.split.append(1)
        self._value = new

    def __repr__(self) -> str:
        return f"<shared counter, value {self._value}>"


def check_safe_increment(fn: Callable, threads: int = 8, times: int = 50) -> Feedback:
    """Run ``fn(counter, lock, times)`` in ``threads`` threads at once; no update may be lost.

    ``counter.value`` pauses between every read and write, and the threads are
    switched as often as possible. Rejected: any lost update, a lock never
    released (the next caller would wait for ever), errors.
    """
    problem = missing_answer(fn)
    if problem:
        return report(False, problem)
    lock = FreeableLock("the lock")
    counter = _Counter(lock)
    run = _call_together(fn, [(counter, lock, times)] * threads, [lock])
    expected = threads * times
    if run.errors:
        return report(False, _error_text(*run.errors[0]))
    if run.stuck:
        holder = run.snapshot[0]
        msg = _stuck_text(run, "safe_increment")
        if holder:
            msg += (f"\nThe lock was held by {next(iter(holder))}, so every other caller waited "
                    "for it. A lock you acquire must be released again, every time and on "
                    "every path.")
        return report(False, msg)
    if lock.locked():
        return report(False, f"Every call returned, but the lock was still held afterwards (by "
                             f"{lock.holder}). The next caller would wait for it for ever: "
                             "release every lock you acquire.")
    got = counter._value
    if got == 0:
        return report(False, "counter.value is still 0: your function should add 1 to it, "
                             "`times` times.")
    if got == expected:
        return report(True, f"{threads} threads x {times} increments with forced switching: "
                            f"counter.value = {got} = {expected}, no update lost.")
    lost = expected - got
    head = (f"{threads} threads x {times} increments: counter.value = {got}, expected "
            f"{expected}" + (f" ({lost} updates lost)." if lost > 0 else " (too many!)."))
    if lost < 0:
        return report(False, head + " Add exactly 1 per round, `times` rounds.")
    if lock.acquisitions == 0:
        hint = " Your function never took the lock it was given."
        if _source_makes_a_lock(fn):
            hint += (" A Lock created inside the function is a new lock on every call: no other "
                     "thread ever waits for it, so it protects nothing.")
        return report(False, head + hint + " The callers must all share one lock.")
    if counter.unlocked_reads and not counter.unlocked_writes:
        return report(False, head + " Your reads of counter.value happened without holding the "
                                    "lock, so two threads could read the same value. Which "
                                    "steps must no other thread run between?")
    if counter.unlocked_writes and not counter.unlocked_reads:
        return report(False, head + " Your writes happened without holding the lock: another "
                                    "thread ran between your read and your write.")
    if counter.split:
        return report(False, head + " You held the lock for the read and again for the write, "
                                    "but let it go in between -- and another thread got in.")
    return report(False, head + " Another thread ran between a read and its write. Which "
                                "steps must happen while holding the lock?")


# --------------------------------------------------------------------------- exercise 2


class _Account:
    """A bank account: ``number``, ``balance`` (pauses on read and write) and its own ``lock``."""

    def __init__(self, number: int, balance: int) -> None:
        self.number = number
        self.lock = FreeableLock(f"account {number}", yield_after=True)
        self._balance = balance
        self.unlocked_changes: list[int] = []

    @property
    def balance(self) -> int:
        _leave_if_freed(self.lock)
        seen = self._balance
        time.sleep(0)
        return seen

    @balance.setter
    def balance(self, new: int) -> None:
        _leave_if_freed(self.lock)
        time.sleep(0)
        if not self.lock.held_by_me():
            self.unlocked_changes.append(1)
        self._balance = new

    def __repr__(self) -> str:
        return f"<account {self.number}: balance {self._balance}>"


def check_transfer(fn: Callable, rounds: int = 10) -> Feedback:
    """Run ``fn(source, target, amount)`` from 8 threads at once, in both directions.

    Each account has its own ``lock`` (which lets other threads run right after it
    is taken, so an unlucky order is likely). Rejected: a deadlock (found at the
    deadline, then the threads are freed), money created or lost, errors.
    """
    problem = missing_answer(fn)
    if problem:
        return report(False, problem)
    accounts = [_Account(n, 1000) for n in (1, 2, 3)]
    a, b, c = accounts
    pairs = [(a, b, 3), (b, a, 2), (b, c, 3), (c, b, 2), (c, a, 3), (a, c, 2), (a, b, 3),
             (b, a, 2)]

    def many(source, target, amount) -> None:
        for _ in range(rounds):
            fn(source, target, amount)

    expected = {acc.number: acc._balance for acc in accounts}
    for source, target, amount in pairs:
        expected[source.number] -= rounds * amount
        expected[target.number] += rounds * amount
    run = _call_together(many, pairs, [acc.lock for acc in accounts])
    if run.errors:
        return report(False, _error_text(*run.errors[0]))
    if run.stuck:
        holds, waits = run.snapshot
        cycle = find_cycle(holds, waits)
        if cycle:
            story = "; ".join(f"{cycle[i]} holds {_held(holds, cycle[i])} and waits for "
                              f"{cycle[i + 1]}" for i in range(0, len(cycle), 2))
            return report(False, f"Deadlock: {story}. Nobody can go on (the checker freed the "
                                 f"threads after {DEADLINE:g} s). Transfers in opposite "
                                 "directions took the same two locks in opposite orders. "
                                 "Can every transfer take its two locks in one order that does "
                                 "not depend on the direction? (Accounts have a .number.)")
        return report(False, _stuck_text(run, "transfer"))
    if any(acc.lock.locked() for acc in accounts):
        return report(False, "Every transfer returned, but an account's lock was still held "
                             "afterwards: release every lock you acquire.")
    got = {acc.number: acc._balance for acc in accounts}
    if got == expected:
        return report(True, f"{len(pairs)} threads x {rounds} transfers in both directions, "
                            f"switching as often as possible: no deadlock, and every account "
                            f"ends right (total {sum(got.values())} = 3000).")
    unlocked = [acc.number for acc in accounts if acc.unlocked_changes]
    if got == {acc.number: 1000 for acc in accounts} and not unlocked:
        return report(False, "No money moved: transfer should take `amount` from "
                             "source.balance and add it to target.balance.")
    total = sum(got.values())
    msg = f"Balances {got}, expected {expected}; total {total} instead of 3000."
    if unlocked:
        msg += (f" The balance of account(s) {unlocked} changed while its own lock was not "
                "held: two transfers touching the same account raced and an update was lost. "
                "Hold both accounts' locks while you change them.")
    elif total == 3000:
        msg += " Money went the wrong way: take it from source, give it to target."
    return report(False, msg)


def _held(holds: dict[str, list[str]], thread: str) -> str:
    return " and ".join(holds.get(thread, [])) or "nothing"


# --------------------------------------------------------------------------- exercise 3


class _Show:
    """A show with ``seats_left`` (pauses after each read) and ``issue_ticket(buyer)``."""

    def __init__(self, seats: int, lock: FreeableLock) -> None:
        self._left = seats
        self._lock = lock
        self._guard = threading.Lock()
        self.tickets: list[int] = []
        self.unlocked_checks: list[int] = []
        self.unlocked_issues: list[int] = []

    @property
    def seats_left(self) -> int:
        _leave_if_freed(self._lock)
        seen = self._left
        if not self._lock.held_by_me():
            self.unlocked_checks.append(1)
        time.sleep(0)                      # another buyer may run here
        return seen

    def issue_ticket(self, buyer: int) -> None:
        """Take one seat for ``buyer`` (payment takes a moment)."""
        _leave_if_freed(self._lock)
        time.sleep(0)
        if not self._lock.held_by_me():
            self.unlocked_issues.append(1)
        with self._guard:
            self._left -= 1
            self.tickets.append(buyer)

    def __repr__(self) -> str:
        return f"<show: {self._left} seats left, {len(self.tickets)} tickets sold>"


def check_sell(fn: Callable, seats: int = 5, buyers: int = 24, rounds: int = 3) -> Feedback:
    """``buyers`` threads each call ``fn(show, lock, buyer)`` at once for ``seats`` seats.

    Repeated ``rounds`` times. Rejected: more tickets than seats (overselling),
    seats left unsold, return values that do not say whether a ticket was sold,
    a lock never released, errors.
    """
    problem = missing_answer(fn)
    if problem:
        return report(False, problem)
    for _ in range(rounds):
        lock = FreeableLock("the lock")
        show = _Show(seats, lock)
        run = _call_together(fn, [(show, lock, i) for i in range(1, buyers + 1)], [lock])
        if run.errors:
            return report(False, _error_text(*run.errors[0]))
        if run.stuck:
            return report(False, _stuck_text(run, "sell") + "\nWas the lock released after "
                                                            "every sale, and after every refusal?")
        if lock.locked():
            return report(False, "Every buyer returned, but the lock was still held afterwards: "
                                 "release it on every path (a sale and a refusal).")
        sold = len(show.tickets)
        if sold > seats:
            msg = f"{buyers} buyers got {sold} tickets for {seats} seats: oversold."
            if lock.acquisitions == 0:
                msg += " Your function never took the lock it was given."
            elif show.unlocked_issues and not show.unlocked_checks:
                msg += (" Your check ran while holding the lock, but the ticket was issued "
                        "after you let go of it: by then other buyers had passed the same check.")
            else:
                msg += (" Several buyers saw a seat left before any of them took it. What must "
                        "no other buyer do between your check and your act?")
            return report(False, msg)
        if sold < seats:
            return report(False, f"Only {sold} of {seats} seats were sold to {buyers} buyers. "
                                 "Sell a ticket (show.issue_ticket(buyer)) whenever a seat is "
                                 "left.")
        said_yes = sum(1 for r in run.results if r is True)
        if said_yes != sold or any(r not in (True, False) for r in run.results):
            return report(False, f"{sold} tickets were sold, but {said_yes} buyers got True. "
                                 "Return True if this buyer got a ticket, False if sold out.")
    return report(True, f"{rounds} rounds of {buyers} buyers at once for {seats} seats, "
                        f"switching as often as possible: exactly {seats} tickets each time, "
                        "and everyone else was told 'sold out'.")

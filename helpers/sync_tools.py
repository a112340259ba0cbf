"""Synchronization tools, each shown with a small real example (lesson 06).

Python gives threads and processes the same set of tools, with the same names
and methods: ``threading.Lock`` and ``multiprocessing.Lock``, ``queue.Queue``
and ``multiprocessing.Queue``, and so on. Each function below runs one tool on
real threads (and, where it says ``mode=``, on real processes started with the
course's start method) and returns a record of what happened:

=============================  ==============================================  =====================
function                       tool and job                                    modes
=============================  ==============================================  =====================
:func:`producer_consumer`      ``Queue`` with a size limit: hand work over,     threads, processes
                               stop with a sentinel ("poison pill")
:func:`connection_pool`        ``BoundedSemaphore``: at most k users at once    threads, processes
:func:`phase_computation`      ``Barrier``: nobody starts phase k+1 before      threads, processes
                               everyone finished phase k
:func:`reentry_demo`           ``RLock`` vs ``Lock``: a method that calls       threads
                               another method taking the same lock
:func:`condition_demo`         ``Condition.wait_for``: sleep until a            threads
                               predicate is true
:func:`event_demo`             ``Event``: a start signal and a stop flag        threads
:func:`lock_cost`              ``Lock``: what one acquire/release costs,        threads, processes
                               alone and under contention (measured)
=============================  ==============================================  =====================

Pictures: :func:`draw_queue_sizes`, :func:`draw_pool_use`, :func:`draw_phases`,
:func:`draw_lock_cost`. Exercise checks: :func:`check_consumer`, :func:`check_peak`.

House rules kept here: every wait has a timeout, every thread is joined and
every process stopped before a function returns, and bad input is refused
with a plain-language error before anything starts. The worker functions are
module-level functions, so ``spawn`` and ``forkserver`` children can import them.
"""

from __future__ import annotations

import multiprocessing as mp
import queue
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import launch, system
from .exercises import Feedback

__all__ = [
    "SENTINEL", "producer_consumer", "connection_pool", "phase_computation", "reentry_demo",
    "condition_demo", "event_demo", "lock_cost", "PipelineRun", "PoolRun", "PhaseRun",
    "ReentryResult", "ConditionRun", "EventRun", "LockCost", "CostPoint", "Wallet", "LockTimeout",
    "next_phase", "expected_phases", "draw_queue_sizes", "draw_pool_use", "draw_phases",
    "draw_lock_cost", "check_consumer", "check_peak", "run_threads", "run_processes",
]

if TYPE_CHECKING:  # matplotlib is only needed for drawing, not in worker processes
    from matplotlib.axes import Axes

#: The "poison pill": put one per consumer after the last real item; a consumer
#: that takes it out of the queue stops. ``None`` survives the trip through a
#: process queue unchanged (``item is SENTINEL`` stays true), as long as ``None``
#: is never a real item.
SENTINEL = None
#: The most threads or processes one example may start.
MAX_WORKERS = launch.MAX_WORKERS
#: The most items one producer/consumer run may move.
MAX_ITEMS = 100_000
#: The longest any example may run, in seconds.
MAX_TIMEOUT = 600.0
#: A ``put`` that waited longer than this (seconds) counts as "the producer was blocked".
BLOCKED_AFTER = 0.001
MODES = launch.MODES


# --------------------------------------------------------------------------- checks


def check_whole(name: str, value: object, low: int, high: int, advice: str = "") -> None:
    """Raise a clear TypeError/ValueError unless ``value`` is a whole number from ``low`` to ``high``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be a whole number, not {value!r}.")
    if not low <= value <= high:
        raise ValueError(f"{name} must be from {low} to {high}; got {value}. {advice}".rstrip())


def check_seconds(name: str, value: object, high: float = MAX_TIMEOUT, allow_zero: bool = False) -> None:
    """Raise a clear TypeError/ValueError unless ``value`` is a sensible number of seconds."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} is a number of seconds, not {value!r}.")
    low_ok = value >= 0 if allow_zero else value > 0
    if not (low_ok and value <= high):
        lowest = "0" if allow_zero else "above 0"
        raise ValueError(f"{name} must be {lowest} and at most {high:g} s; got {value}.")


def check_mode(mode: object) -> None:
    """Raise a clear ValueError unless ``mode`` is ``"threads"`` or ``"processes"``."""
    if mode not in MODES:
        raise ValueError(f"mode must be 'threads' or 'processes', not {mode!r}.")


# --------------------------------------------------------------------------- runners


def _guarded(target: Callable, args: tuple, errors: list, index: int) -> None:
    """Run ``target(*args)`` in a thread and keep any exception for the caller to raise."""
    try:
        target(*args)
    except BaseException as exc:  # noqa: BLE001 - reported to the caller
        errors.append((index, exc))


def run_threads(target: Callable, args_list: Sequence[tuple], timeout: float,
                name: str = "worker") -> None:
    """Start one thread per argument tuple, join them all, and re-raise the first error.

    Every worker in this module gives up by itself within ``timeout`` (its waits
    have timeouts), so the join below always ends. A thread still alive after
    ``timeout`` plus a grace second is reported as a :class:`TimeoutError`.
    """
    errors: list = []
    threads = [threading.Thread(target=_guarded, args=(target, args, errors, i),
                                name=f"{name}-{i}", daemon=True)
               for i, args in enumerate(args_list)]
    deadline = time.perf_counter() + timeout + 1.0
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.0, deadline - time.perf_counter()))
    stuck = [t.name for t in threads if t.is_alive()]
    if stuck:
        raise TimeoutError(f"{', '.join(stuck)} did not finish within {timeout:g} s.")
    if errors:
        index, exc = sorted(errors, key=lambda e: e[0])[0]
        raise RuntimeError(f"{name} {index} failed: {type(exc).__name__}: {exc}") from exc


def run_processes(target: Callable, args_list: Sequence[tuple], timeout: float,
                  ctx: Any, name: str = "worker") -> None:
    """Start one process per argument tuple, wait for all, and make sure none survives.

    Synchronization objects (locks, queues, shared arrays) must reach a child as
    arguments of ``Process``: that is the one moment they may be passed on.
    Raises :class:`TimeoutError` if a process is still running after ``timeout``
    (it is then stopped) and RuntimeError if one ended with an error.
    """
    procs = [ctx.Process(target=target, args=args, name=f"{name}-{i}", daemon=True)
             for i, args in enumerate(args_list)]
    deadline = time.perf_counter() + timeout + 1.0
    try:
        for p in procs:
            p.start()
        for p in procs:
            p.join(max(0.0, deadline - time.perf_counter()))
        stuck = [p.name for p in procs if p.is_alive()]
        if stuck:
            raise TimeoutError(f"{', '.join(stuck)} did not finish within {timeout:g} s "
                               f"and were stopped.")
        failed = [(p.name, p.exitcode) for p in procs if p.exitcode != 0]
        if failed:
            who, code = failed[0]
            raise RuntimeError(f"{who} ended with exit code {code} (its error is printed above).")
    finally:
        launch.stop_processes(procs)


def _context(mode: str) -> Any:
    """The multiprocessing context for the course start method (None for threads)."""
    return None if mode == "threads" else mp.get_context(system.course_start_method())


# --------------------------------------------------------------------------- Queue


@dataclass
class PipelineRun:
    """What a producer/consumer run did. Times are seconds since the run started."""

    mode: str
    n_items: int
    queue_size: int
    n_consumers: int
    #: (item, index of the consumer that took it), in the order they were finished.
    consumed: list[tuple[int, int]]
    #: (time, items waiting in the queue) seen after each put and each get.
    sizes: list[tuple[float, int]]
    #: How long each ``put`` of a real item waited for a free place, in seconds.
    put_waits: list[float]
    wall: float

    @property
    def items(self) -> list[int]:
        """Every consumed item, in the order they were finished."""
        return [item for item, _ in self.consumed]

    @property
    def each_consumed_once(self) -> bool:
        """True if every produced item was consumed, exactly once."""
        return sorted(self.items) == list(range(self.n_items))

    @property
    def blocked_puts(self) -> int:
        """How many puts had to wait (longer than 1 ms) because the queue was full."""
        return sum(w > BLOCKED_AFTER for w in self.put_waits)

    @property
    def per_consumer(self) -> list[int]:
        """How many items each consumer handled."""
        return [sum(1 for _, c in self.consumed if c == i) for i in range(self.n_consumers)]

    @property
    def largest_size(self) -> int:
        """The most items ever seen waiting in the queue (never more than ``queue_size``)."""
        return max((s for _, s in self.sizes), default=0)


def _produce(q: Any, n_items: int, n_consumers: int, produce_every: float, sizes: list,
             put_waits: list, t0: float, timeout: float) -> None:
    """Put items 0..n_items-1 into ``q``, then one SENTINEL per consumer."""
    for item in range(n_items):
        started = time.perf_counter()
        q.put(item, timeout=timeout)  # blocks while the queue is full
        put_waits.append(time.perf_counter() - started)
        _note_size(q, sizes, t0)
        if produce_every:
            time.sleep(produce_every)
    for _ in range(n_consumers):
        q.put(SENTINEL, timeout=timeout)


def _note_size(q: Any, sizes: list, t0: float) -> None:
    try:
        sizes.append((time.perf_counter() - t0, q.qsize()))
    except NotImplementedError:  # multiprocessing queues on macOS cannot tell
        pass


def _consume_in_thread(q: queue.Queue, index: int, consume_time: float, consumed: list,
                       sizes: list, t0: float, timeout: float) -> None:
    """Take items until the sentinel arrives; 'work' on each for ``consume_time`` seconds."""
    while True:
        item = q.get(timeout=timeout)
        if item is SENTINEL:
            return
        _note_size(q, sizes, t0)
        time.sleep(consume_time)  # the work on one item
        consumed.append((item, index))


def consume_in_process(tasks: Any, results: Any, index: int, consume_time: float,
                       timeout: float) -> None:
    """Body of a consumer *process*: take items from ``tasks`` until the sentinel, report each.

    Each finished item goes back on ``results`` as ``(item, index)``; the last
    message is ``("done", index)``, so the parent knows this consumer has stopped.
    """
    while True:
        item = tasks.get(timeout=timeout)
        if item is SENTINEL:
            results.put(("done", index))
            return
        time.sleep(consume_time)
        results.put((item, index))


def producer_consumer(n_items: int = 40, queue_size: int = 4, n_consumers: int = 2,
                      consume_time: float = 0.005, produce_every: float = 0.0,
                      mode: str = "threads", timeout: float = 30.0) -> PipelineRun:
    """One producer puts ``n_items`` into a queue that holds at most ``queue_size``;
    ``n_consumers`` consumers take them out, each spending ``consume_time`` s per item.

    When consumers are slower than the producer the queue fills up and ``put``
    *blocks* until a place is free: the size limit holds the producer back
    instead of letting the backlog (and memory) grow. After the last item the
    producer puts one :data:`SENTINEL` per consumer; each consumer stops when it
    takes one. With ``mode="processes"`` the consumers are real processes and
    the queue is a ``multiprocessing.Queue``.
    """
    check_whole("n_items", n_items, 1, MAX_ITEMS)
    check_whole("queue_size", queue_size, 1, MAX_ITEMS)
    check_whole("n_consumers", n_consumers, 1, MAX_WORKERS)
    check_seconds("consume_time", consume_time, high=1.0, allow_zero=True)
    check_seconds("produce_every", produce_every, high=1.0, allow_zero=True)
    check_mode(mode)
    check_seconds("timeout", timeout)
    sizes: list = []
    put_waits: list = []
    consumed: list = []
    t0 = time.perf_counter()
    if mode == "threads":
        q: Any = queue.Queue(maxsize=queue_size)
        jobs = [(_produce, (q, n_items, n_consumers, produce_every, sizes, put_waits, t0, timeout))]
        jobs += [(_consume_in_thread, (q, i, consume_time, consumed, sizes, t0, timeout))
                 for i in range(n_consumers)]
        run_threads(_call, [(fn, args) for fn, args in jobs], timeout, name="producer/consumer")
    else:
        ctx = _context(mode)
        tasks, results = ctx.Queue(maxsize=queue_size), ctx.Queue()
        procs = [ctx.Process(target=consume_in_process, name=f"consumer-{i}", daemon=True,
                             args=(tasks, results, i, consume_time, timeout))
                 for i in range(n_consumers)]
        try:
            for p in procs:
                p.start()
            t0 = time.perf_counter()
            _produce(tasks, n_items, n_consumers, produce_every, sizes, put_waits, t0, timeout)
            deadline = t0 + timeout
            done = 0
            while done < n_consumers:  # read everything before joining (a queue's pipe must drain)
                message = results.get(timeout=max(0.01, deadline - time.perf_counter()))
                if message[0] == "done":
                    done += 1
                else:
                    consumed.append(message)
            for p in procs:
                p.join(max(0.0, deadline - time.perf_counter()))
        except (queue.Full, queue.Empty):
            tasks.cancel_join_thread()  # items nobody will read: do not wait to flush them
            raise TimeoutError(f"the consumer processes did not finish within {timeout:g} s "
                               f"and were stopped.") from None
        finally:
            launch.stop_processes(procs)
            for q in (tasks, results):
                q.close()
                q.join_thread()
    return PipelineRun(mode, n_items, queue_size, n_consumers, consumed, sorted(sizes),
                       put_waits, time.perf_counter() - t0)


def _call(fn: Callable, args: tuple) -> None:
    fn(*args)


# --------------------------------------------------------------------------- Semaphore


@dataclass
class PoolRun:
    """What a connection-pool run did. Times are seconds since the run started."""

    mode: str
    n_users: int
    pool_size: int
    #: The most users that held a connection at the same moment (measured).
    peak: int
    #: (time, connections in use) after every take and every give-back.
    in_use: list[tuple[float, int]]
    #: How long each use waited for a free connection, in seconds.
    waits: list[float]
    wall: float


def use_pool(index: int, pool: Any, guard: Any, state: Any, log: Any, waits: Any, uses: int,
             hold: float, start: Any, t0: float, timeout: float) -> None:
    """One user of the pool (a thread or a process): ``uses`` times take a connection, hold it, give it back.

    ``state`` is ``[connections in use, peak, events logged]``, updated under
    ``guard``; ``log`` receives (time, in use) pairs; ``waits`` the waiting time
    of each use.
    """
    start.wait(timeout)  # everyone begins together
    for u in range(uses):
        asked = time.perf_counter()
        if not pool.acquire(timeout=timeout):
            raise TimeoutError(f"user {index} waited {timeout:g} s for a connection")
        try:
            waits[index * uses + u] = time.perf_counter() - asked
            _count_user(guard, state, log, t0, +1)
            time.sleep(hold)  # "using the connection"
            _count_user(guard, state, log, t0, -1)
        finally:
            pool.release()


def _count_user(guard: Any, state: Any, log: Any, t0: float, change: int) -> None:
    with guard:
        state[0] += change
        state[1] = max(state[1], state[0])
        k = state[2]
        log[2 * k], log[2 * k + 1] = time.perf_counter() - t0, state[0]
        state[2] = k + 1


def connection_pool(n_users: int = 8, pool_size: int = 3, uses_per_user: int = 2,
                    hold_seconds: float = 0.02, mode: str = "threads",
                    timeout: float = 30.0) -> PoolRun:
    """``n_users`` workers share ``pool_size`` "connections" guarded by a ``BoundedSemaphore``.

    A semaphore is a counter of free places: ``acquire`` takes one (waiting
    while none is free), ``release`` gives it back. The run records how many
    users held a connection at each moment; the peak can never exceed
    ``pool_size``. (*Bounded*: releasing more than was acquired raises an error
    instead of silently growing the pool.)
    """
    check_whole("n_users", n_users, 1, MAX_WORKERS)
    check_whole("pool_size", pool_size, 1, MAX_WORKERS)
    check_whole("uses_per_user", uses_per_user, 1, 1000)
    check_seconds("hold_seconds", hold_seconds, high=1.0)
    check_mode(mode)
    check_seconds("timeout", timeout)
    events = 2 * n_users * uses_per_user
    ctx = _context(mode)
    if ctx is None:
        pool, guard, start = (threading.BoundedSemaphore(pool_size), threading.Lock(),
                              threading.Barrier(n_users))
        state, log, waits = [0, 0, 0], [0.0] * (2 * events), [0.0] * (n_users * uses_per_user)
    else:
        pool, guard, start = ctx.BoundedSemaphore(pool_size), ctx.Lock(), ctx.Barrier(n_users)
        state = ctx.Array("q", 3, lock=False)
        log = ctx.Array("d", 2 * events, lock=False)
        waits = ctx.Array("d", n_users * uses_per_user, lock=False)
    t0 = time.perf_counter()
    args = [(i, pool, guard, state, log, waits, uses_per_user, hold_seconds, start, t0, timeout)
            for i in range(n_users)]
    if ctx is None:
        run_threads(use_pool, args, timeout, name="user")
    else:
        run_processes(use_pool, args, timeout, ctx, name="user")
    wall = time.perf_counter() - t0
    in_use = sorted((log[2 * k], int(log[2 * k + 1])) for k in range(int(state[2])))
    return PoolRun(mode, n_users, pool_size, int(state[1]), in_use, list(waits), wall)


# --------------------------------------------------------------------------- Barrier


@dataclass
class PhaseRun:
    """What a phase computation did. Times are seconds since the run started."""

    mode: str
    n_workers: int
    phases: int
    use_barrier: bool
    values: list[int]
    expected: list[int]
    #: times[worker][phase] = (start, end) of that worker's work on that phase.
    times: list[list[tuple[float, float]]]
    wall: float

    @property
    def correct(self) -> bool:
        """True if the result equals the one computed step by step without any threads."""
        return self.values == self.expected

    @property
    def phase_overlaps(self) -> int:
        """How often some worker started phase k+1 before another worker had finished phase k."""
        count = 0
        for k in range(self.phases - 1):
            last_end = max(w[k][1] for w in self.times)
            count += sum(w[k + 1][0] < last_end for w in self.times)
        return count


def initial_cells(n: int) -> list[int]:
    """The starting values of the phase computation: 1, 2, ..., n."""
    return list(range(1, n + 1))


def next_phase(cells: Sequence[int]) -> list[int]:
    """One phase, done serially: each cell becomes left neighbour + itself + right neighbour (on a ring)."""
    n = len(cells)
    return [cells[i - 1] + cells[i] + cells[(i + 1) % n] for i in range(n)]


def expected_phases(n_workers: int, phases: int) -> list[int]:
    """The right answer: :func:`next_phase` applied ``phases`` times to :func:`initial_cells`."""
    cells = initial_cells(n_workers)
    for _ in range(phases):
        cells = next_phase(cells)
    return cells


def phase_worker(index: int, n: int, phases: int, buffers: Any, times: Any, barrier: Any,
                 step: float, t0: float, timeout: float) -> None:
    """One worker of the phase computation: owns cell ``index``; phase k reads ``buffers[k % 2]``
    (its own cell and both neighbours') and writes its new value into ``buffers[(k + 1) % 2]``.

    Workers are deliberately uneven (worker i works ``step * (i + 1)`` s per
    phase), as real chunks of work are. With a ``barrier`` every worker waits
    after each phase until all have written; with ``barrier=None`` nobody waits.
    """
    for k in range(phases):
        read, write = (k % 2) * n, ((k + 1) % 2) * n
        started = time.perf_counter() - t0
        left, me, right = (buffers[read + (index - 1) % n], buffers[read + index],
                           buffers[read + (index + 1) % n])
        time.sleep(step * (index + 1))  # the uneven work of this phase
        buffers[write + index] = left + me + right
        slot = 2 * (index * phases + k)
        times[slot], times[slot + 1] = started, time.perf_counter() - t0
        if barrier is not None:
            barrier.wait(timeout)  # raises BrokenBarrierError for everyone if one is stuck


def phase_computation(n_workers: int = 4, phases: int = 6, use_barrier: bool = True,
                      step: float = 0.002, mode: str = "threads",
                      timeout: float = 30.0) -> PhaseRun:
    """Compute ``phases`` rounds of :func:`next_phase` with one worker per cell.

    Phase k+1 needs the neighbours' results of phase k, so every worker must
    wait until all have finished phase k: that is what a ``Barrier`` does. Run
    it with ``use_barrier=False`` to see the phases overlap and (usually) a
    wrong result. With ``mode="processes"`` the cells live in shared memory
    (``multiprocessing.Array``) and the barrier is a ``multiprocessing.Barrier``.
    """
    check_whole("n_workers", n_workers, 2, MAX_WORKERS, "A barrier needs at least 2 workers.")
    check_whole("phases", phases, 1, 30)
    if not isinstance(use_barrier, bool):
        raise TypeError(f"use_barrier must be True or False, not {use_barrier!r}.")
    check_seconds("step", step, high=0.1, allow_zero=True)
    check_mode(mode)
    check_seconds("timeout", timeout)
    start = initial_cells(n_workers)
    ctx = _context(mode)
    if ctx is None:
        buffers, times = start + [0] * n_workers, [0.0] * (2 * n_workers * phases)
        barrier = threading.Barrier(n_workers) if use_barrier else None
    else:
        buffers = ctx.Array("q", start + [0] * n_workers, lock=False)
        times = ctx.Array("d", 2 * n_workers * phases, lock=False)
        barrier = ctx.Barrier(n_workers) if use_barrier else None
    t0 = time.perf_counter()
    args = [(i, n_workers, phases, buffers, times, barrier, step, t0, timeout)
            for i in range(n_workers)]
    if ctx is None:
        run_threads(phase_worker, args, timeout, name="phase worker")
    else:
        run_processes(phase_worker, args, timeout, ctx, name="phase worker")
    wall = time.perf_counter() - t0
    final = (phases % 2) * n_workers
    values = [int(v) for v in buffers[final:final + n_workers]]
    spans = [[(times[2 * (i * phases + k)], times[2 * (i * phases + k) + 1])
              for k in range(phases)] for i in range(n_workers)]
    return PhaseRun(mode, n_workers, phases, use_barrier, values,
                    expected_phases(n_workers, phases), spans, wall)


# --------------------------------------------------------------------------- RLock


class LockTimeout(RuntimeError):
    """A lock could not be taken within its patience: with a plain Lock this means 'would deadlock'."""


class Wallet:
    """A tiny account whose methods protect the balance with ``lock``.

    :meth:`pay_all` takes the lock and then calls :meth:`pay`, which takes the
    *same* lock again. A plain ``Lock`` refuses the second acquire even to the
    thread that holds it (it would wait for itself forever); an ``RLock``
    counts how often its owner entered and lets it in. Every acquire waits at
    most ``patience`` seconds and raises :class:`LockTimeout`, so nothing hangs.
    """

    def __init__(self, balance: int, lock: Any, patience: float = 0.2):
        self.balance = balance
        self.lock = lock
        self.patience = patience

    def _enter(self, where: str) -> None:
        if not self.lock.acquire(timeout=self.patience):
            raise LockTimeout(f"{where}: could not take the lock within {self.patience:g} s; "
                              f"this thread already holds it")

    def pay(self, amount: int) -> None:
        """Take ``amount`` off the balance (refused if the money is not there)."""
        self._enter("pay")
        try:
            if amount > self.balance:
                raise ValueError(f"cannot pay {amount}, the balance is {self.balance}")
            self.balance -= amount
        finally:
            self.lock.release()

    def pay_all(self, amounts: Sequence[int]) -> None:
        """Pay several bills as one step: nobody else may touch the wallet in between."""
        self._enter("pay_all")
        try:
            if sum(amounts) > self.balance:
                raise ValueError(f"cannot pay {sum(amounts)}, the balance is {self.balance}")
            for amount in amounts:
                self.pay(amount)  # takes the same lock again
        finally:
            self.lock.release()


@dataclass
class ReentryResult:
    """The outcome of :func:`reentry_demo` for one kind of lock."""

    kind: str
    finished: bool
    balance: int
    #: Seconds the call took (with a plain Lock: about the patience, spent waiting for itself).
    seconds: float
    error: str
    #: True if another thread was kept out while the first one held the lock.
    other_thread_kept_out: bool


def reentry_demo(kind: str = "RLock", bills: Sequence[int] = (10, 20, 5), balance: int = 100,
                 patience: float = 0.2) -> ReentryResult:
    """Call ``Wallet.pay_all(bills)`` on a worker thread, protected by a ``"Lock"`` or an ``"RLock"``.

    Also checks that the lock still keeps *other* threads out: while the
    worker holds it, a second thread tries to take it for 50 ms.
    """
    if kind not in ("Lock", "RLock"):
        raise ValueError(f"kind must be 'Lock' or 'RLock', not {kind!r}.")
    check_seconds("patience", patience, high=10.0)
    if not all(isinstance(b, int) and not isinstance(b, bool) and b >= 0 for b in bills):
        raise ValueError(f"bills must be whole amounts of 0 or more, not {bills!r}.")
    lock = threading.Lock() if kind == "Lock" else threading.RLock()
    wallet = Wallet(balance, lock, patience)
    outcome: dict = {}
    holding, done = threading.Event(), threading.Event()

    def owner() -> None:
        t = time.perf_counter()
        try:
            with lock:
                holding.set()
                done.wait(patience + 1.0)  # hold it while the other thread tries
            wallet.pay_all(bills)
            outcome["error"] = ""
        except LockTimeout as exc:
            outcome["error"] = str(exc)
        finally:
            holding.set()
            outcome["seconds"] = time.perf_counter() - t

    def intruder() -> None:
        holding.wait(patience + 1.0)
        got = lock.acquire(timeout=0.05)
        if got:
            lock.release()
        outcome["kept_out"] = not got
        done.set()

    run_threads(_call, [(owner, ()), (intruder, ())], patience + 5.0, name="wallet thread")
    return ReentryResult(kind, not outcome["error"], wallet.balance, outcome["seconds"],
                         outcome["error"], outcome["kept_out"])


# --------------------------------------------------------------------------- Condition


@dataclass
class ConditionRun:
    """What :func:`condition_demo` saw. Times are seconds since the run started."""

    n_downloads: int
    #: Each time the waiter's predicate was evaluated: (time, downloads done, predicate result).
    checks: list[tuple[float, int, bool]]
    #: When each download finished.
    finished_at: list[float]
    #: When ``wait_for`` returned, and what it returned (False would mean it timed out).
    woke_at: float
    satisfied: bool

    @property
    def wake_delay(self) -> float:
        """Seconds from the last download finishing to the waiter running again."""
        return self.woke_at - max(self.finished_at)


def _download(index: int, cond: threading.Condition, state: dict, stagger: float,
              t0: float) -> None:
    time.sleep(stagger * (index + 1))  # downloads finish one after another
    with cond:
        state["done"] += 1
        state["finished_at"].append(time.perf_counter() - t0)
        cond.notify_all()  # "something changed": waiters re-check their predicate


def _wait_for_all(cond: threading.Condition, state: dict, n: int, t0: float,
                  timeout: float) -> None:
    def all_done() -> bool:
        result = state["done"] >= n
        state["checks"].append((time.perf_counter() - t0, state["done"], result))
        return result

    with cond:
        state["satisfied"] = cond.wait_for(all_done, timeout=timeout)
        state["woke_at"] = time.perf_counter() - t0


def condition_demo(n_downloads: int = 4, stagger: float = 0.02,
                   timeout: float = 10.0) -> ConditionRun:
    """A waiter thread sleeps in ``Condition.wait_for(all_done)`` while ``n_downloads``
    threads finish one by one, each calling ``notify_all``.

    ``wait_for`` checks the predicate once at the start and again after every
    wake-up; it returns as soon as the predicate is true (or False after
    ``timeout``). The waiter uses no CPU while it sleeps -- no polling loop.
    """
    check_whole("n_downloads", n_downloads, 1, MAX_WORKERS - 1)
    check_seconds("stagger", stagger, high=1.0)
    check_seconds("timeout", timeout)
    cond = threading.Condition()
    state: dict = {"done": 0, "checks": [], "finished_at": [], "woke_at": 0.0, "satisfied": False}
    t0 = time.perf_counter()
    jobs = [(_wait_for_all, (cond, state, n_downloads, t0, timeout))]
    jobs += [(_download, (i, cond, state, stagger, t0)) for i in range(n_downloads)]
    run_threads(_call, jobs, timeout, name="condition thread")
    return ConditionRun(n_downloads, state["checks"], state["finished_at"], state["woke_at"],
                        state["satisfied"])


# --------------------------------------------------------------------------- Event


@dataclass
class EventRun:
    """What :func:`event_demo` saw. Times are seconds since the run started."""

    signal_at: float
    stop_at: float
    started: list[float]
    stopped: list[float]
    rounds: list[int]

    @property
    def start_lags(self) -> list[float]:
        """Seconds from ``start.set()`` to each worker beginning."""
        return [s - self.signal_at for s in self.started]

    @property
    def stop_lags(self) -> list[float]:
        """Seconds from ``stop.set()`` to each worker ending."""
        return [s - self.stop_at for s in self.stopped]


def _event_worker(index: int, start: threading.Event, stop: threading.Event, record: dict,
                  t0: float, tick: float, timeout: float) -> None:
    if not start.wait(timeout):  # the start signal (every wait has a timeout)
        raise TimeoutError(f"worker {index} never got the start signal")
    record["started"][index] = time.perf_counter() - t0
    rounds = 0
    while True:
        rounds += 1  # one round of "work"
        if stop.wait(tick):  # doubles as the pause between rounds; True once stop is set
            break
    record["stopped"][index] = time.perf_counter() - t0
    record["rounds"][index] = rounds


def event_demo(n_workers: int = 3, run_seconds: float = 0.2, tick: float = 0.01,
               timeout: float = 10.0) -> EventRun:
    """Workers wait for a ``start`` Event, work in rounds, and end when a ``stop`` Event is set.

    The main thread starts the workers (they block in ``start.wait``), sets
    ``start`` -- all begin within a moment -- lets them run ``run_seconds``,
    then sets ``stop``; each worker notices within one ``tick``.
    """
    check_whole("n_workers", n_workers, 1, MAX_WORKERS)
    check_seconds("run_seconds", run_seconds, high=10.0)
    check_seconds("tick", tick, high=1.0)
    check_seconds("timeout", timeout)
    start, stop = threading.Event(), threading.Event()
    record: dict = {k: [0.0] * n_workers for k in ("started", "stopped")}
    record["rounds"] = [0] * n_workers
    t0 = time.perf_counter()
    times: dict = {}

    def conductor() -> None:
        time.sleep(0.05)  # the workers are waiting by now
        times["signal"] = time.perf_counter() - t0
        start.set()
        time.sleep(run_seconds)
        times["stop"] = time.perf_counter() - t0
        stop.set()

    jobs = [(conductor, ())]
    jobs += [(_event_worker, (i, start, stop, record, t0, tick, timeout)) for i in range(n_workers)]
    try:
        run_threads(_call, jobs, timeout, name="event thread")
    finally:
        start.set()
        stop.set()
    return EventRun(times["signal"], times["stop"], record["started"], record["stopped"],
                    record["rounds"])


# --------------------------------------------------------------------------- lock cost


@dataclass
class CostPoint:
    """Repeated measurements of one (mode, workers) setting, in nanoseconds per locked increment."""

    mode: str
    n_workers: int
    ns_per_op: list[float] = field(default_factory=list)
    #: How often, per 1000 increments, the lock went to a different worker than the last one.
    handovers_per_1000: float = 0.0

    @property
    def median(self) -> float:
        return statistics.median(self.ns_per_op)

    @property
    def low(self) -> float:
        return min(self.ns_per_op)

    @property
    def high(self) -> float:
        return max(self.ns_per_op)


@dataclass
class LockCost:
    """All measurements of :func:`lock_cost`."""

    operations: dict[str, int]
    repeats: int
    start_method: str | None
    usable_cpus: int
    points: list[CostPoint] = field(default_factory=list)
    #: True if every run's shared counter ended at exactly the number of increments.
    counts_correct: bool = True

    def curve(self, mode: str) -> list[CostPoint]:
        """The points of one mode, ordered by number of workers."""
        return sorted((p for p in self.points if p.mode == mode), key=lambda p: p.n_workers)

    def median(self, mode: str, n_workers: int) -> float | None:
        """Median ns per locked increment for ``mode`` with ``n_workers`` (None if not measured)."""
        return next((p.median for p in self.points
                     if p.mode == mode and p.n_workers == n_workers), None)

    def ratio(self, mode: str, n_workers: int) -> float | None:
        """How many times the cost with ``n_workers`` is the cost with 1 worker (same mode)."""
        alone, shared = self.median(mode, 1), self.median(mode, n_workers)
        return None if alone is None or shared is None else shared / alone

    def table(self) -> str:
        """A plain-text table: median and spread in ns, and the ratio to 1 worker."""
        rows = [f"{'mode':<10} {'workers':>7} {'median ns':>10} {'min ns':>8} {'max ns':>8} "
                f"{'x 1 worker':>10} {'hand-overs/1000':>15}"]
        for mode in dict.fromkeys(p.mode for p in self.points):
            for p in self.curve(mode):
                r = self.ratio(mode, p.n_workers)
                ratio = f"{r:10.2f}" if r is not None else f"{'-':>10}"
                rows.append(f"{mode:<10} {p.n_workers:>7} {p.median:>10.0f} {p.low:>8.0f} "
                            f"{p.high:>8.0f} {ratio} {p.handovers_per_1000:>15.1f}")
        return "\n".join(rows)

    def __str__(self) -> str:
        return (f"Lock cost: ns per locked increment, median of {self.repeats} repeats, "
                f"{self.usable_cpus} usable CPU(s)\n{self.table()}")


def locked_increments(index: int, n_workers: int, lock: Any, counter: Any, times: Any, ops: int,
                      rounds: int, go: Any, done: Any, timeout: float) -> None:
    """Body of one lock-cost worker (a thread or a process).

    For each round: wait at the ``go`` barrier until the conductor starts this
    group, then ``ops`` times take the lock, add 1 to the shared ``counter[0]``
    and release it. Inside the lock it also counts a *hand-over* in
    ``counter[2]`` whenever the previous holder (``counter[1]``) was another
    worker. The round's start and end times go to
    ``times[2 * (r * n_workers + index)]`` and the place after it; then the
    worker reports at the ``done`` barrier.

    The hot loop uses a plain ``with lock:`` (a timeout there would change
    what is measured); the barriers have timeouts, and the conductor stops the
    workers if a round takes too long.
    """
    try:
        for r in range(rounds):
            go.wait(timeout)
            t = time.perf_counter()
            for _ in range(ops):
                with lock:
                    counter[0] += 1
                    if counter[1] != index:  # the lock came from another worker: a hand-over
                        counter[1] = index
                        counter[2] += 1
            slot = 2 * (r * n_workers + index)
            times[slot], times[slot + 1] = t, time.perf_counter()
            done.wait(timeout)
    except threading.BrokenBarrierError:  # the conductor gave up (timeout or error): just end
        return


def default_operations(mode: str) -> int:
    """Locked increments per measurement: fewer for processes (each costs more), fewer in quick mode."""
    base = 200_000 if mode == "threads" else 100_000
    return base // 4 if system.quick_mode() else base


@dataclass
class _Group:
    """The workers of one (mode, number of workers) setting and the objects they share."""

    mode: str
    n: int
    per_worker: int
    #: Kept here on purpose: under spawn a child opens the lock by name after start()
    #: returns, so the parent must keep it alive until the end.
    lock: Any
    counter: Any
    times: Any
    go: Any
    done: Any
    workers: list = field(default_factory=list)


def _start_group(mode: str, n: int, ops: int, rounds: int, timeout: float) -> _Group:
    """Create one setting's lock, counter and barriers, and start its n workers (they wait at ``go``)."""
    per_worker = max(1, ops // n)
    ctx = _context(mode)
    if ctx is None:
        lock, counter, times = threading.Lock(), [0, -1, 0], [0.0] * (2 * n * rounds)
        go, done = threading.Barrier(n + 1), threading.Barrier(n + 1)  # n workers + the conductor
        make = threading.Thread
    else:
        lock, counter = ctx.Lock(), ctx.Array("q", [0, -1, 0], lock=False)
        times = ctx.Array("d", 2 * n * rounds, lock=False)
        go, done = ctx.Barrier(n + 1), ctx.Barrier(n + 1)
        make = ctx.Process
    group = _Group(mode, n, per_worker, lock, counter, times, go, done)
    for i in range(n):
        worker = make(target=locked_increments, name=f"lock worker {mode} {n}-{i}", daemon=True,
                      args=(i, n, lock, counter, times, per_worker, rounds, go, done, timeout))
        group.workers.append(worker)
        worker.start()
    return group


def _wait_until_ready(groups: list[_Group], deadline: float) -> None:
    """Wait until every worker waits at its ``go`` barrier; fail fast if one died starting up."""
    while True:
        for g in groups:
            dead = [w for w in g.workers if g.mode == "processes" and w.exitcode is not None]
            if dead:
                raise RuntimeError(f"{dead[0].name} ended while starting (exit code "
                                   f"{dead[0].exitcode}); its error is printed above.")
        if all(g.go.n_waiting == g.n for g in groups):
            return
        if time.perf_counter() > deadline:
            raise TimeoutError("the lock-cost workers did not start in time; all were stopped.")
        time.sleep(0.005)


def _stop_group(group: _Group) -> None:
    """Release anyone still waiting, then join the threads or stop the processes."""
    group.go.abort()
    group.done.abort()
    if group.mode == "threads":
        for t in group.workers:
            t.join(5.0)
    else:
        launch.stop_processes(group.workers)


def lock_cost(worker_counts: Sequence[int] = (1, 2, 4), modes: Sequence[str] = MODES,
              operations: int | None = None, repeats: int | None = None,
              timeout: float = 60.0) -> LockCost:
    """Measure what a lock costs per acquire+release, alone and shared, for threads and processes.

    For each setting (mode, n) a fixed number of locked increments of one
    shared counter is split evenly among n workers (``threading.Lock`` and a
    list for threads, ``multiprocessing.Lock`` and a shared ``Array`` for
    processes). One round's wall time (first start to last end) divided by
    the number of increments gives nanoseconds per locked increment.

    All workers are started first and wait at barriers, so start-up time is
    never counted. Then a conductor runs the settings *one at a time*, round
    after round, in alternating order: round 0 is a warm-up, then ``repeats``
    measured rounds (5, or 3 in quick mode). Interleaving the settings means a
    burst of load from other programs hits all of them alike.
    """
    counts = sorted(set(worker_counts))
    if not counts:
        raise ValueError("worker_counts is empty; give at least one number of workers, e.g. (1, 2).")
    for n in counts:
        check_whole("each worker count", n, 1, 16, "More workers only take turns on a lock.")
    if not modes or any(m not in MODES for m in modes):
        raise ValueError(f"modes must name 'threads' and/or 'processes', not {modes!r}.")
    if operations is not None:
        check_whole("operations", operations, 100, 10_000_000)
    if repeats is None:
        repeats = 3 if system.quick_mode() else 5
    check_whole("repeats", repeats, 1, 50)
    check_seconds("timeout", timeout)
    if "processes" in modes:
        launch.validate(locked_increments, [()] * sum(counts), "processes", timeout=timeout)
    modes = list(dict.fromkeys(modes))
    method = system.course_start_method() if "processes" in modes else None
    ops = {m: operations or default_operations(m) for m in modes}
    result = LockCost(ops, repeats, method, system.usable_cpus())
    rounds = repeats + 1  # the first is a warm-up
    groups: list[_Group] = []
    deadline = time.perf_counter() + timeout
    try:
        # Processes first: forking while this process already runs extra threads is unsafe.
        for mode in sorted(modes, key=lambda m: m != "processes"):
            for n in counts:
                groups.append(_start_group(mode, n, ops[mode], rounds, timeout))
        groups.sort(key=lambda g: modes.index(g.mode))  # back to the order asked for
        _wait_until_ready(groups, deadline)
        for r in range(rounds):
            for g in groups if r % 2 == 0 else groups[::-1]:
                left = deadline - time.perf_counter()
                if left <= 0:
                    raise TimeoutError(f"the lock-cost measurement took longer than {timeout:g} s "
                                       f"and was stopped.")
                g.go.wait(left)  # start this setting's round ...
                g.done.wait(max(0.01, deadline - time.perf_counter()))  # ... and wait for its end
    except threading.BrokenBarrierError:
        raise TimeoutError(f"a lock-cost worker did not arrive within {timeout:g} s; "
                           f"all workers were stopped.") from None
    finally:
        for g in groups:
            _stop_group(g)
    for g in groups:
        total = g.per_worker * g.n
        result.counts_correct &= int(g.counter[0]) == total * rounds
        point = CostPoint(g.mode, g.n, handovers_per_1000=1000 * (g.counter[2] - 1) / (total * rounds))
        for r in range(1, rounds):
            starts = [g.times[2 * (r * g.n + i)] for i in range(g.n)]
            ends = [g.times[2 * (r * g.n + i) + 1] for i in range(g.n)]
            point.ns_per_op.append((max(ends) - min(starts)) / total * 1e9)
        result.points.append(point)
    return result


# --------------------------------------------------------------------------- pictures


def draw_queue_sizes(ax: Axes, run: PipelineRun) -> None:
    """Draw how many items waited in the queue over time, the size limit, and the blocked puts."""
    from .plots import COLORS, color_for

    if run.sizes:
        t, n = zip(*run.sizes)
        ax.step([x * 1000 for x in t], n, where="post", color=color_for(run.mode),
                label=f"items waiting ({run.mode})")
    ax.axhline(run.queue_size, ls="--", color=COLORS["ceiling"],
               label=f"maxsize = {run.queue_size}: put() blocks here")
    ax.set_xlabel("time since the run started (ms)")
    ax.set_ylabel("items waiting in the queue")
    ax.set_ylim(0, run.queue_size + 1.5)
    ax.set_title(f"{run.n_items} items, {run.n_consumers} consumers: "
                 f"{run.blocked_puts} of {run.n_items} puts had to wait")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right", fontsize="small")


def draw_pool_use(ax: Axes, run: PoolRun) -> None:
    """Draw how many connections were in use over time, and the pool size."""
    from .plots import COLORS, color_for

    t = [0.0] + [x * 1000 for x, _ in run.in_use]
    n = [0] + [k for _, k in run.in_use]
    ax.step(t, n, where="post", color=color_for(run.mode), label=f"connections in use ({run.mode})")
    ax.axhline(run.pool_size, ls="--", color=COLORS["ceiling"], label=f"pool size = {run.pool_size}")
    ax.set_xlabel("time since the run started (ms)")
    ax.set_ylabel("connections in use")
    ax.set_ylim(0, max(run.pool_size, run.peak) + 1.5)
    ax.set_title(f"{run.n_users} users, pool of {run.pool_size}: measured peak {run.peak}")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right", fontsize="small")


def draw_phases(ax: Axes, run: PhaseRun, legend: bool = True) -> None:
    """Draw one row per worker, one bar per phase (colour = phase number): a timeline of the phases."""
    from matplotlib.patches import Patch

    from .plots import CORE_COLORS

    for i, spans in enumerate(run.times):
        for k, (start, end) in enumerate(spans):
            ax.barh(i, (end - start) * 1000, left=start * 1000, height=0.6,
                    color=CORE_COLORS[k % len(CORE_COLORS)], edgecolor="black", lw=0.5)
    ax.set_yticks(range(run.n_workers), [f"worker {i}" for i in range(run.n_workers)])
    ax.invert_yaxis()
    ax.set_xlabel("time since the run started (ms)")
    how = "with a Barrier" if run.use_barrier else "without a Barrier"
    ax.set_title(f"{how}: result {'correct' if run.correct else 'WRONG'}, "
                 f"{run.phase_overlaps} phase overlaps", fontsize="medium")
    ax.grid(axis="x", alpha=0.3)
    if legend:
        shown = min(run.phases, len(CORE_COLORS))
        ax.legend(handles=[Patch(color=CORE_COLORS[k], label=f"phase {k}") for k in range(shown)],
                  fontsize="x-small", loc="upper left", bbox_to_anchor=(1.01, 1.0))


def draw_lock_cost(ax: Axes, cost: LockCost) -> None:
    """Draw ns per locked increment against the number of workers: median line, min-max band."""
    from .plots import color_for

    for mode in dict.fromkeys(p.mode for p in cost.points):
        pts = cost.curve(mode)
        n = [p.n_workers for p in pts]
        color = color_for(mode)
        ax.fill_between(n, [p.low for p in pts], [p.high for p in pts], color=color, alpha=0.2, lw=0)
        lock = "threading.Lock" if mode == "threads" else "multiprocessing.Lock"
        ax.plot(n, [p.median for p in pts], "o-", color=color,
                label=f"{mode}: {lock} (median, min-max band)")
    counts = sorted({p.n_workers for p in cost.points})
    ax.set_xticks(counts)
    ax.set_xlabel("workers sharing one lock")
    ax.set_ylabel("time per locked increment (ns)")
    ax.set_ylim(bottom=0)
    ax.set_title(f"One lock, one shared counter ({cost.usable_cpus} usable CPU(s))")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="lower right")


# --------------------------------------------------------------------------- exercises


class _GiveUp(BaseException):
    """Raised inside a consumer that is still waiting after the check gave up on it."""


class _PatientQueue(queue.Queue):
    """A queue.Queue whose ``get`` ends (with :class:`_GiveUp`) once the check has given up,
    so a consumer that never stops cannot leave a thread blocked forever."""

    def __init__(self, maxsize: int = 0):
        super().__init__(maxsize)
        self.given_up = threading.Event()

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        if not block:
            return super().get(False)
        end = None if timeout is None else time.perf_counter() + timeout
        while True:
            if self.given_up.is_set():
                raise _GiveUp
            step = 0.02 if end is None else min(0.02, max(0.0, end - time.perf_counter()))
            try:
                return super().get(True, step)
            except queue.Empty:
                if end is not None and time.perf_counter() >= end:
                    raise


def check_consumer(consume: Callable[[queue.Queue, list], object], n_items: int = 20,
                   queue_size: int = 3, timeout: float = 1.0) -> Feedback:
    """Run ``consume(q, eaten)`` on a thread while a producer puts ``n_items`` and then the SENTINEL.

    Correct means: ``consume`` returned by itself within ``timeout`` seconds,
    and ``eaten`` holds every item exactly once, in order, without the
    sentinel. Prints and returns the verdict.
    """
    if not callable(consume):
        raise TypeError(f"Pass your consumer function itself (no brackets), not {consume!r}.")
    check_whole("n_items", n_items, 1, 10_000)
    check_seconds("timeout", timeout, high=60.0)
    q = _PatientQueue(maxsize=queue_size)
    eaten: list = []
    failure: list = []

    def producer() -> None:
        try:
            for item in range(n_items):
                q.put(item, timeout=timeout)
            q.put(SENTINEL, timeout=timeout)
        except queue.Full:
            pass  # the consumer stopped taking items; reported below

    def consumer() -> None:
        try:
            consume(q, eaten)
        except _GiveUp:
            pass
        except Exception as exc:  # noqa: BLE001 - reported to the learner
            failure.append(exc)

    threads = [threading.Thread(target=producer, daemon=True, name="check-producer"),
               threading.Thread(target=consumer, daemon=True, name="check-consumer")]
    for t in threads:
        t.start()
    threads[1].join(timeout)
    still_waiting = threads[1].is_alive()
    q.given_up.set()  # wakes a consumer stuck in q.get()
    for t in threads:
        t.join(timeout + 1.0)
    expected = list(range(n_items))
    if failure:
        verdict = Feedback(False, f"Your consumer raised {type(failure[0]).__name__}: "
                                       f"{failure[0]}")
    elif still_waiting:
        real = [x for x in eaten if x is not SENTINEL]
        also = " (and the sentinel, as if it were an item)" if len(real) < len(eaten) else ""
        verdict = Feedback(False, f"Your consumer was still waiting after {timeout:g} s, "
                                       f"having eaten {len(real)} of {n_items} items{also}. It "
                                       f"must return when it takes the SENTINEL out of the queue.")
    elif any(x is SENTINEL for x in eaten):
        verdict = Feedback(False, "The sentinel ended up among the eaten items: check for it "
                                       "*before* appending, and stop there.")
    elif eaten != expected:
        verdict = Feedback(False, f"It returned, but ate {len(eaten)} of {n_items} items "
                                       f"(each should be eaten exactly once, in order).")
    else:
        verdict = Feedback(True, f"Your consumer ate all {n_items} items exactly once and "
                                      f"stopped at the sentinel.")
    print(verdict)
    return verdict


def check_peak(answer: object, run: PoolRun) -> Feedback:
    """Compare a predicted peak number of simultaneous users with the one measured in ``run``."""
    from . import exercises

    return exercises.check_number(
        answer, expected=run.peak,
        praise=f"{answer} is right: the measured peak was {run.peak}. The semaphore starts with "
               f"{run.pool_size} free places, so the other users wait in acquire().",
        hint=f"Count the free places: Semaphore({run.pool_size}) lets at most that many users "
             f"past acquire() before one of them calls release().")

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
=============================  ==============================================  =====================

Pictures: :func:`draw_queue_sizes`, :func:`draw_pool_use`, :func:`draw_phases`.
Exercise checks: :func:`check_consumer`, :func:`check_peak`. What a ``Lock``
costs when several workers want it is measured in :mod:`helpers.lock_contention`.

House rules kept here: every wait has a timeout, every thread is joined and
every process stopped before a function returns, and bad input is refused
with a plain-language error before anything starts. The worker functions are
module-level functions, so ``spawn`` and ``forkserver`` children can import them.
"""

from __future__ import annotations

import multiprocessing as mp
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import launch, system
from .exercises import Feedback

__all__ = [
    "SENTINEL", "producer_consumer", "connection_pool", "phase_computation", "reentry_demo",
    "condition_demo", "event_demo", "PipelineRun", "PoolRun", "PhaseRun", "ReentryResult",
    "ConditionRun", "EventRun", "Wallet", "LockTimeout", "next_phase", "expected_phases",
    "draw_queue_sizes", "draw_pool_use", "draw_phases", "check_consumer", "check_peak",
    "check_whole", "check_seconds", "run_threads", "run_processes",
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

    The first message on ``results`` is ``("ready", index)``, so the parent can
    wait until every consumer runs before it starts producing (starting a process
    takes long under ``spawn``, and that should not count as a full queue). Each
    finished item goes back as ``(item, index)``; the last message is
    ``("done", index)``, so the parent knows this consumer has stopped.
    """
    results.put(("ready", index))
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
    the queue is a ``multiprocessing.Queue``; the producer starts once all
    consumer processes are running, so ``wall`` does not count their start-up.
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
            deadline = time.perf_counter() + timeout
            for _ in range(n_consumers):  # start producing once every consumer is running
                results.get(timeout=max(0.01, deadline - time.perf_counter()))  # ("ready", i)
            t0 = time.perf_counter()
            _produce(tasks, n_items, n_consumers, produce_every, sizes, put_waits, t0, timeout)
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
    def span(self) -> float:
        """Seconds from the first phase starting to the last phase ending (start-up not counted)."""
        return max(w[-1][1] for w in self.times) - min(w[0][0] for w in self.times)

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
                 start: Any, step: float, t0: float, timeout: float) -> None:
    """One worker of the phase computation: owns cell ``index``; phase k reads ``buffers[k % 2]``
    (its own cell and both neighbours') and writes its new value into ``buffers[(k + 1) % 2]``.

    Workers are deliberately uneven (worker i works ``step * (i + 1)`` s per
    phase), as real chunks of work are. All workers begin together at the
    ``start`` barrier. With a ``barrier`` every worker waits after each phase
    until all have written; with ``barrier=None`` nobody waits.
    """
    start.wait(timeout)  # everyone begins together (process start-up is not part of the phases)
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
        start_line = threading.Barrier(n_workers)
    else:
        buffers = ctx.Array("q", start + [0] * n_workers, lock=False)
        times = ctx.Array("d", 2 * n_workers * phases, lock=False)
        barrier = ctx.Barrier(n_workers) if use_barrier else None
        start_line = ctx.Barrier(n_workers)
    t0 = time.perf_counter()
    args = [(i, n_workers, phases, buffers, times, barrier, start_line, step, t0, timeout)
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

"""Sharing data: one address space (threads) against many (processes), and the ways across.

Threads of one process see the same memory: a list one thread appends to is
the list every thread reads. Each process has its own memory: what a child
process changes stays in the child, unless the data travels on purpose.
This module gives the lesson's experiments:

- :func:`sign_guest_book` -- a worker appends to the module-level list
  :data:`GUEST_BOOK`; run it in threads and in processes and count.
- :func:`shared_array` -- a block of shared memory seen as a NumPy array that
  is always closed *and* unlinked (removed), even when your code fails::

      with sharing.shared_array((1000,), "float64") as block:
          block.array[:] = 1.0                      # the parent writes
          launch.run(sharing.fill_shared_array, [(block.handle, 7.0)], "processes")
          print(block.array[:3])                    # ...and sees what the child wrote

- :func:`measure_transfers` -- time how long it takes to get a message of a
  given size to another process with a ``Pipe``, a ``Queue``, a ``Manager``,
  an ``Array`` and ``SharedMemory`` (and to a thread, for comparison), and
  return a :class:`TransferTable` (medians, spread, bandwidth).
- :func:`leftover_segments` / :func:`remove_leftovers` -- find and remove
  shared-memory blocks whose name starts with ``course_`` that nobody removed.

Every worker function lives here (not in a notebook cell) so it also works
under the ``spawn`` and ``forkserver`` start methods.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import secrets
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing import shared_memory
from pathlib import Path

import numpy as np

from . import launch, system

# --------------------------------------------------------------------------- one address space or many

#: A plain module-level list. Threads append to this one list; each process has its own copy.
GUEST_BOOK: list[str] = []


def sign_guest_book(name: str) -> int:
    """Append ``name`` to :data:`GUEST_BOOK` and return how many entries *this worker* then sees.

    In a thread it is the list of the main program; in a child process it is
    the child's own copy (a copy of the parent's list under ``fork``, a fresh
    empty list under ``spawn`` and ``forkserver``).
    """
    GUEST_BOOK.append(name)
    return len(GUEST_BOOK)


def add_to_array(array: np.ndarray, value: float) -> float:
    """Add ``value`` to every element of an ordinary NumPy array (in place); return the new sum.

    Given to a child process, ``array`` is a *copy* (pickled under spawn,
    copy-on-write under fork), so the parent's array does not change.
    """
    array += value
    return float(array.sum())


# --------------------------------------------------------------------------- shared memory blocks

#: Every shared-memory block this course creates has a name starting with this.
PREFIX = "course_"
#: Where Linux shows shared-memory blocks as files.
SHM_DIR = Path("/dev/shm")
#: The largest shared block :func:`shared_array` makes (bytes): enough for every lesson.
MAX_BLOCK_BYTES = 256 * 1000**2

_names_made: set[str] = set()  # blocks named by this Python (to find leftovers without /dev/shm)


def segment_name() -> str:
    """A new, unique block name: ``course_<pid of this Python>_<8 random hex digits>``.

    The process id says who made it, so :func:`remove_leftovers` can tell a
    block still in use from one left behind. 23 characters or fewer, short
    enough for macOS (which allows 30).
    """
    name = f"{PREFIX}{os.getpid()}_{secrets.token_hex(4)}"
    _names_made.add(name)
    return name


def track_parameter_available() -> bool:
    """True on Python 3.13+, where ``SharedMemory(..., track=False)`` exists."""
    return sys.version_info >= (3, 13)


@dataclass(frozen=True)
class BlockHandle:
    """What another process needs to find a shared block: its name, shape and dtype (small, picklable)."""

    name: str
    shape: tuple[int, ...]
    dtype: str


class SharedBlock:
    """A shared-memory block and a NumPy array that lives in it (made by :func:`shared_array`).

    ``block.array`` is the NumPy view, ``block.handle`` what you pass to a
    child process so it can attach (see :func:`attach_array`), ``block.name``
    the block's name. After the ``with`` block ends the array is gone.
    """

    def __init__(self, memory: shared_memory.SharedMemory, handle: BlockHandle):
        self._memory = memory
        self.handle = handle
        self.name = handle.name
        self._array: np.ndarray | None = np.ndarray(handle.shape, dtype=handle.dtype,
                                                     buffer=memory.buf)

    @property
    def array(self) -> np.ndarray:
        """The NumPy array whose memory is the shared block (only inside the ``with`` block)."""
        if self._array is None:
            raise RuntimeError(
                f"The shared block {self.name!r} was closed when its with-block ended, so its "
                f"array is gone. Copy what you need inside the with-block: "
                f"result = block.array.copy()."
            )
        return self._array

    def __repr__(self) -> str:
        state = "open" if self._array is not None else "closed"
        return (f"SharedBlock(name={self.name!r}, shape={self.handle.shape}, "
                f"dtype={self.handle.dtype!r}, {state})")

    def _close(self) -> None:
        """Drop the array and close this process's view of the block -- unless a view is still in use.

        Closing unmaps the memory. A NumPy array still pointing into it would then
        point at nothing, and touching it would crash Python (the kernel dies). So if
        anyone still holds the array or a view of it (``kept = block.array``), the
        memory stays mapped until this Python ends; the block's name is removed anyway.
        """
        array, self._array = self._array, None
        # References to `array`: the local name, getrefcount's argument, and any view.
        if array is not None and sys.getrefcount(array) > 2:
            _kept_mapped.append((self._memory, array))
            return
        del array
        self._memory.close()


#: Blocks whose arrays were still in use when their with-block ended (kept mapped, see above).
_kept_mapped: list[tuple[shared_memory.SharedMemory, np.ndarray]] = []


def check_block(shape: int | Sequence[int], dtype: str | np.dtype) -> tuple[tuple[int, ...], np.dtype]:
    """Check a shared array's shape and dtype; raise a plain ValueError/TypeError before anything is made.

    Returns the shape as a tuple and the dtype as a ``numpy.dtype``.
    """
    dims = (shape,) if isinstance(shape, int) else shape
    try:
        dims = tuple(dims)
    except TypeError:
        raise TypeError(f"shape must be a whole number or a tuple of them, e.g. (1000,); "
                        f"got {shape!r}.") from None
    if not dims or any(isinstance(d, bool) or not isinstance(d, (int, np.integer)) for d in dims):
        raise TypeError(f"shape must be a whole number or a tuple of them, e.g. (1000,); "
                        f"got {shape!r}.")
    if any(d < 1 for d in dims):
        raise ValueError(f"Every dimension of a shared array must be at least 1; got {shape!r}.")
    try:
        kind = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{dtype!r} is not a NumPy dtype; use e.g. 'float64', 'int64' or "
                        f"'uint8'.") from None
    if kind.hasobject:
        raise TypeError(
            "A shared array cannot hold Python objects (dtype=object): it would store memory "
            "addresses that mean nothing in another process. Use numbers, e.g. 'float64'."
        )
    nbytes = int(np.prod(dims, dtype=object)) * kind.itemsize
    if nbytes > MAX_BLOCK_BYTES or nbytes > system.memory_available() // 2:
        raise ValueError(
            f"A {dims} {kind.name} array needs {format_bytes(nbytes)}; this course makes shared "
            f"blocks of at most {format_bytes(min(MAX_BLOCK_BYTES, system.memory_available() // 2))}"
            f" here. Use a smaller shape."
        )
    return tuple(int(d) for d in dims), kind


@contextmanager
def shared_array(shape: int | Sequence[int], dtype: str | np.dtype = "float64") -> Iterator[SharedBlock]:
    """Create a shared-memory block holding a zero-filled NumPy array; always remove it afterwards.

    ::

        with shared_array((1000,), "float64") as block:
            block.array[:] = 1.0                 # a NumPy array in shared memory
            child_args = (block.handle,)         # give a child this to attach

    When the ``with`` block ends -- normally, by an exception or by Ctrl-C --
    the block is *unlinked* (its name removed, so nothing is left in the
    system) and then *closed* (this process's view released). The name
    starts with ``course_``. Raises ValueError/TypeError for a bad shape or dtype
    before anything is created.
    """
    dims, kind = check_block(shape, dtype)
    handle = BlockHandle(segment_name(), dims, kind.str)
    size = max(1, int(np.prod(dims)) * kind.itemsize)
    memory = shared_memory.SharedMemory(name=handle.name, create=True, size=size)
    block = None
    try:
        block = SharedBlock(memory, handle)
        block.array.fill(0)
        yield block
    finally:
        memory.unlink()  # first remove the name: that is what could leak
        _names_made.discard(handle.name)
        if block is not None:
            block._close()
        else:
            memory.close()


@contextmanager
def attach_array(handle: BlockHandle) -> Iterator[SharedBlock]:
    """In another process: open the block ``handle`` names and see it as a NumPy array.

    Only closes this process's view at the end; removing the block is the
    creator's job (:func:`shared_array` does it). On Python 3.13+ it attaches
    with ``track=False``, telling Python's resource tracker that this process
    does not own the block.
    """
    extra = {"track": False} if track_parameter_available() else {}
    memory = shared_memory.SharedMemory(name=handle.name, **extra)
    block = None
    try:
        block = SharedBlock(memory, handle)
        yield block
    finally:
        if block is not None:
            block._close()
        else:
            memory.close()


def fill_shared_array(handle: BlockHandle, value: float) -> float:
    """Worker: attach to a shared block, set every element to ``value``; return the sum it sees."""
    with attach_array(handle) as block:
        block.array[:] = value
        return float(block.array.sum())


def segments_listable() -> bool:
    """True where the system shows shared-memory blocks as files (Linux: ``/dev/shm``)."""
    return SHM_DIR.is_dir()


def owner_pid(name: str) -> int | None:
    """The process id in a ``course_<pid>_<hex>`` block name, or None if the name is not of that form."""
    parts = name[len(PREFIX):].split("_") if name.startswith(PREFIX) else []
    if len(parts) == 2 and parts[0].isdigit():
        return int(parts[0])
    return None


def leftover_segments(only_mine: bool = True) -> list[str]:
    """Names of ``course_`` shared-memory blocks that still exist.

    ``only_mine`` (the default) keeps those this Python created; False lists
    every ``course_`` block, e.g. ones a crashed kernel left. On Linux it
    looks in ``/dev/shm``. Elsewhere it checks the blocks this Python named
    (macOS cannot list them; Windows removes a block by itself once no
    process has it open).
    """
    if segments_listable():
        names = [p.name for p in SHM_DIR.iterdir() if p.name.startswith(PREFIX)]
    else:
        names = [n for n in _names_made if _exists_elsewhere(n)]
    if only_mine:
        names = [n for n in names if owner_pid(n) == os.getpid()]
    return sorted(names)


def _exists_elsewhere(name: str) -> bool:
    """Does block ``name`` exist? (systems without /dev/shm: ask shm_open directly.)"""
    try:
        import _posixshmem
    except ImportError:  # Windows: a block lives only while a process has it open
        return False
    try:
        fd = _posixshmem.shm_open("/" + name, os.O_RDONLY, mode=0o600)
    except OSError:
        return False
    os.close(fd)
    return True


def remove_leftovers() -> list[str]:
    """Unlink ``course_`` blocks made by this Python or by a process that has ended; return their names.

    A block whose maker is still running is left alone: it may be in use.
    """
    import psutil

    removed = []
    for name in leftover_segments(only_mine=False):
        owner = owner_pid(name)
        if owner is None or (owner != os.getpid() and psutil.pid_exists(owner)):
            continue
        try:
            memory = shared_memory.SharedMemory(name=name)
        except FileNotFoundError:  # someone removed it meanwhile
            continue
        memory.unlink()
        memory.close()
        _names_made.discard(name)
        removed.append(name)
    return removed


@dataclass(frozen=True)
class LeakReport:
    """What happened to a block a separate Python created and never unlinked."""

    name: str
    tracked: bool
    survived: bool          # still in the system after that Python ended
    tracker_warned: bool    # Python's resource tracker printed a "leaked shared_memory" warning


_LEAK_SCRIPT = """\
import sys
from multiprocessing import shared_memory
name, tracked = sys.argv[1], sys.argv[2] == "yes"
extra = {} if tracked else {"track": False}
block = shared_memory.SharedMemory(name=name, create=True, size=4096, **extra)
block.buf[0] = 42
block.close()   # closed, but never unlinked: a leak
"""


def leak_in_a_fresh_python(track: bool = True, timeout: float = 30.0) -> LeakReport:
    """Start a separate Python that creates a ``course_`` block, closes it and exits without unlinking.

    With ``track=True`` (the default everywhere) that Python's resource tracker
    removes the block when the program ends and prints a warning about it.
    ``track=False`` (Python 3.13+ only) turns the tracker off for that block,
    so it survives. The report says what happened; any survivor can be removed
    with :func:`remove_leftovers`.
    """
    if not track and not track_parameter_available():
        raise ValueError(
            f"SharedMemory(track=False) needs Python 3.13 or newer; this is "
            f"{sys.version.split()[0]}."
        )
    name = segment_name()
    done = subprocess.run([sys.executable, "-c", _LEAK_SCRIPT, name, "yes" if track else "no"],
                          capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"The separate Python failed:\n{done.stderr}")
    # run() returns once every writer of stderr has closed it, the tracker included,
    # so the tracker has finished its clean-up by now.
    survived = _exists(name)
    return LeakReport(name, track, survived, "leaked shared_memory" in done.stderr)


def _exists(name: str) -> bool:
    if segments_listable():
        return (SHM_DIR / name).exists()
    return _exists_elsewhere(name)


# --------------------------------------------------------------------------- measuring transfers

#: The ways to get a message to another worker that :func:`measure_transfers` compares.
METHODS = ("thread", "Pipe", "Queue", "Manager", "Array", "SharedMemory")
#: The same without the thread: the ways between *processes*.
PROCESS_METHODS = METHODS[1:]
#: One line per method: how the message travels.
HOW = {
    "thread": "queue.Queue to a thread: only a reference is passed, nothing is copied",
    "Pipe": "Connection.send: pickled, written through the OS, unpickled",
    "Queue": "multiprocessing.Queue: pickled by a feeder thread, then like a Pipe",
    "Manager": "Manager().Queue(): pickled to a server process, then again to the receiver",
    "Array": "multiprocessing.Array (lock=False): copied into shared memory, a Pipe says 'ready'",
    "SharedMemory": "shared_memory.SharedMemory: copied into the block, a Pipe says 'ready'",
}
#: Plot colours: names in :data:`helpers.plots.COLORS` (Okabe-Ito); the thread is blue as always.
METHOD_COLORS = {"thread": "threads", "Pipe": "highlight", "Queue": "processes", "Manager": "dask",
                 "Array": "serial", "SharedMemory": "sky"}
METHOD_MARKERS = {"thread": "o", "Pipe": "s", "Queue": "^", "Manager": "v", "Array": "D",
                  "SharedMemory": "P"}

KB, MB = 1000, 1000**2
#: Message sizes measured by default (bytes); quick mode measures fewer.
DEFAULT_SIZES = (1 * KB, 10 * KB, 100 * KB, 1 * MB, 10 * MB)
QUICK_SIZES = (1 * KB, 100 * KB, 1 * MB, 10 * MB)
#: The largest message :func:`measure_transfers` accepts (bytes).
MAX_MESSAGE_BYTES = 64 * MB
#: How much memory one measurement needs, in multiples of the largest message
#: (the message, the shared block, the Array, pickled copies on both sides, the Manager's copy).
MEMORY_FACTOR = 10
#: A child that hears nothing from its parent for this long (s) gives up and exits.
CHILD_PATIENCE = 120.0


class TransferTimeout(TimeoutError):
    """A receiver did not answer in time; every child was stopped."""


def default_sizes() -> list[int]:
    """The message sizes measured when you give none: :data:`DEFAULT_SIZES` (:data:`QUICK_SIZES` in
    quick mode), without any size too big for the memory free right now."""
    sizes = QUICK_SIZES if system.quick_mode() else DEFAULT_SIZES
    room = system.memory_available() // 2
    return [s for s in sizes if s * MEMORY_FACTOR <= room] or [sizes[0]]


def check_message_sizes(sizes: Sequence[int]) -> list[int]:
    """Check message sizes (bytes); raise a plain ValueError/TypeError before anything starts.

    Each size must be a whole number from 1 to :data:`MAX_MESSAGE_BYTES`, and
    the biggest must fit comfortably in the memory available. Returns the sizes
    sorted, without repeats.
    """
    if isinstance(sizes, (int, str, bytes)) or not isinstance(sizes, Sequence):
        raise TypeError(f"sizes must be a list of message sizes in bytes, e.g. [1000, 1000000]; "
                        f"got {sizes!r}.")
    if not sizes:
        raise ValueError("sizes is empty: give at least one message size in bytes.")
    if len(sizes) > 20:
        raise ValueError(f"{len(sizes)} sizes is more than needed; 20 at most (a handful spread "
                         f"from 1 kB to a few MB shows the whole picture).")
    for s in sizes:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
            raise TypeError(f"Each message size is a whole number of bytes; got {s!r}.")
        if s < 1:
            raise ValueError(f"A message must hold at least 1 byte; got {s}.")
        if s > MAX_MESSAGE_BYTES:
            raise ValueError(
                f"A {format_bytes(s)} message is more than this lesson allows "
                f"({format_bytes(MAX_MESSAGE_BYTES)}): the effects are all visible by a few MB."
            )
    need = max(sizes) * MEMORY_FACTOR
    if need > system.memory_available() // 2:
        raise ValueError(
            f"Measuring {format_bytes(max(sizes))} messages needs about {format_bytes(need)} of "
            f"memory, but only {format_bytes(system.memory_available())} is free. Use smaller sizes."
        )
    return sorted({int(s) for s in sizes})


def _check_methods(methods: Sequence[str]) -> list[str]:
    if isinstance(methods, str):
        methods = [methods]
    methods = list(dict.fromkeys(methods))
    if not methods:
        raise ValueError(f"methods is empty: choose some of {', '.join(METHODS)}.")
    for m in methods:
        if m not in METHODS:
            raise ValueError(f"Unknown method {m!r}. Choose from: {', '.join(METHODS)}.")
    return [m for m in METHODS if m in methods]  # a fixed order, for tables and legends


def _receive_in_child(method: str, conn, inbox, shared) -> None:
    """Body of a receiving process: take each message, answer with its first and last byte.

    The answer proves the receiver can read this very message (the parent
    changes those bytes every time). ``inbox`` is a Queue for the queue
    methods; ``shared`` is a BlockHandle (SharedMemory) or a ctypes array (Array).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    if method == "SharedMemory":
        with attach_array(shared) as block:
            _answer_messages(method, conn, inbox, block)
    else:
        _answer_messages(method, conn, inbox, shared)


def _answer_messages(method: str, conn, inbox, shared) -> None:
    conn.send("ready")
    while True:
        if method in ("Queue", "Manager"):
            try:
                message = inbox.get(timeout=CHILD_PATIENCE)
            except queue.Empty:
                return
        elif conn.poll(CHILD_PATIENCE):
            message = conn.recv()
        else:
            return
        if message is None:  # the parent says: done
            return
        if method == "SharedMemory":  # the message is the number of bytes ready in the block
            data = shared.array[:message]
        elif method == "Array":
            data = np.frombuffer(shared, dtype=np.uint8, count=message)
        else:
            data = message
        conn.send((int(data[0]), int(data[-1])))
        del data


def _receive_in_thread(inbox: queue.Queue, outbox: queue.Queue) -> None:
    """Body of the receiving thread: the same answers, through ``queue.Queue`` objects."""
    while (message := inbox.get(timeout=CHILD_PATIENCE)) is not None:
        outbox.put((int(message[0]), int(message[-1])))


class _Receiver:
    """One receiving worker for one method, seen from the parent: send a message, wait for the answer."""

    def __init__(self, method: str, ctx, capacity: int, block: SharedBlock | None, manager):
        self.method = method
        self.proc = self.thread = self.inbox = None
        self.view = None
        if method == "thread":
            self.inbox, self.outbox = queue.Queue(), queue.Queue()
            self.thread = threading.Thread(target=_receive_in_thread, name="receiver",
                                           args=(self.inbox, self.outbox), daemon=True)
            self.thread.start()
            return
        self.conn, child_conn = ctx.Pipe()
        shared = None
        if method == "Queue":
            self.inbox = ctx.Queue()
        elif method == "Manager":
            self.inbox = manager.Queue()
        elif method == "Array":
            shared = ctx.Array("B", capacity, lock=False)
            self.view = np.frombuffer(shared, dtype=np.uint8)
        elif method == "SharedMemory":
            shared = block.handle
            self.view = block.array
        self.proc = ctx.Process(target=_receive_in_child, name=f"receiver-{method}", daemon=True,
                                args=(method, child_conn, self.inbox, shared))
        self.proc.start()
        self._child_conn = child_conn

    def wait_ready(self, timeout: float) -> None:
        if self.proc is None:
            return
        self._child_conn.close()
        if not (self.conn.poll(timeout) and self.conn.recv() == "ready"):
            raise TransferTimeout(f"the {self.method} receiver did not start within {timeout:g} s")

    def transfer(self, message: np.ndarray, timeout: float) -> float:
        """Send ``message``, wait until the receiver has read it; return the seconds taken."""
        size = len(message)
        t0 = time.perf_counter()
        if self.method == "thread":
            self.inbox.put(message)
            try:
                answer = self.outbox.get(timeout=timeout)
            except queue.Empty:
                answer = None
        else:
            if self.method == "Pipe":
                self.conn.send(message)
            elif self.method in ("Queue", "Manager"):
                self.inbox.put(message)
            else:  # Array, SharedMemory: copy in, then say how many bytes are ready
                self.view[:size] = message
                self.conn.send(size)
            answer = self.conn.recv() if self.conn.poll(timeout) else None
        elapsed = time.perf_counter() - t0
        if answer is None:
            raise TransferTimeout(f"the {self.method} receiver did not answer within {timeout:g} s")
        if answer != (int(message[0]), int(message[-1])):
            raise RuntimeError(f"the {self.method} receiver read the wrong data: {answer}")
        return elapsed

    def stop(self) -> None:
        """Tell the receiver to finish, and make sure it has (nothing is left running)."""
        self.view = None
        try:
            if self.method == "thread":
                self.inbox.put(None)
                self.thread.join(5.0)
                return
            if self.method in ("Queue", "Manager"):
                self.inbox.put(None)
            else:
                self.conn.send(None)
        except Exception:  # already gone; stop_processes below makes sure
            pass
        finally:
            if self.proc is not None:
                launch.stop_processes([self.proc])
                self.conn.close()
                if self.method == "Queue":
                    self.inbox.cancel_join_thread()  # never wait for data nobody will read
                    self.inbox.close()


@dataclass
class TransferTable:
    """Measured transfer times: ``times[(method, size)]`` is a list of seconds, one per repeat."""

    start_method: str
    sizes: list[int]
    methods: list[str]
    repeats: int
    times: dict[tuple[str, int], list[float]] = field(default_factory=dict)

    def median(self, method: str, size: int) -> float:
        """Median seconds to get a ``size``-byte message to the receiver with ``method``."""
        return statistics.median(self._times(method, size))

    def spread(self, method: str, size: int) -> tuple[float, float]:
        """(fastest, slowest) of the repeats, in seconds."""
        t = self._times(method, size)
        return min(t), max(t)

    def bandwidth(self, method: str, size: int) -> float:
        """Bytes per second: ``size`` divided by the median time."""
        return size / self.median(method, size)

    def fastest(self, size: int, methods: Sequence[str] | None = None) -> str:
        """The method with the smallest median time at ``size`` (among ``methods``, default all measured)."""
        pool = [m for m in (methods or self.methods) if m in self.methods]
        if not pool:
            raise ValueError(f"None of {list(methods or [])} was measured; measured: {self.methods}.")
        return min(pool, key=lambda m: self.median(m, size))

    def times_faster(self, method: str, than: str, size: int) -> float:
        """How many times less time ``method`` took than ``than`` at ``size`` (median / median)."""
        return self.median(than, size) / self.median(method, size)

    def _times(self, method: str, size: int) -> list[float]:
        try:
            return self.times[(method, size)]
        except KeyError:
            raise KeyError(f"No measurement for {method!r} at {size} bytes. Measured methods: "
                           f"{self.methods}; sizes: {self.sizes}.") from None

    def table(self) -> str:
        """Median time per message (and min-max) and bandwidth, one row per method and size."""
        rows = [f"{'method':<13} {'message':>8} {'median':>10} {'fastest':>10} {'slowest':>10} "
                f"{'bandwidth':>12}"]
        for m in self.methods:
            for s in self.sizes:
                lo, hi = self.spread(m, s)
                rate = "no copy" if m == "thread" else format_bytes(self.bandwidth(m, s)) + "/s"
                rows.append(f"{m:<13} {format_bytes(s):>8} {format_seconds(self.median(m, s)):>10} "
                            f"{format_seconds(lo):>10} {format_seconds(hi):>10} {rate:>12}")
        return "\n".join(rows)

    def conclusion(self) -> str:
        """A few plain sentences about what was measured, every number taken from the table."""
        small, big = self.sizes[0], self.sizes[-1]
        between = [m for m in self.methods if m in PROCESS_METHODS]
        lines = []
        if between:
            best = self.fastest(small, between)
            worst = max(between, key=lambda m: self.median(m, small))
            lines.append(
                f"Smallest message ({format_bytes(small)}): the quickest way to another process "
                f"was {best} ({format_seconds(self.median(best, small))} per message), the "
                f"slowest {worst} ({format_seconds(self.median(worst, small))}). At this size "
                f"the fixed cost of each message (latency) is nearly all there is."
            )
            if "SharedMemory" in between and "Queue" in between:
                lines.append(
                    f"Largest message ({format_bytes(big)}): SharedMemory took "
                    f"{format_seconds(self.median('SharedMemory', big))}, a Queue "
                    f"{format_seconds(self.median('Queue', big))}: shared memory moved "
                    f"{format_bytes(big)} {_compare(self.times_faster('SharedMemory', 'Queue', big))} "
                    f"a Queue on this machine."
                )
            else:
                best = self.fastest(big, between)
                lines.append(f"Largest message ({format_bytes(big)}): {best} was quickest, at "
                             f"{format_bytes(self.bandwidth(best, big))}/s.")
        if "thread" in self.methods:
            lines.append(self._thread_sentence(small, big))
        return "\n".join(lines)

    def _thread_sentence(self, small: int, big: int) -> str:
        """What the thread's times say; honest when a busy machine made the big one slower."""
        t_small, t_big = self.median("thread", small), self.median("thread", big)
        said = (f"A thread got the {format_bytes(big)} message in {format_seconds(t_big)}"
                + (f" (the {format_bytes(small)} one in {format_seconds(t_small)})" if big != small
                   else ""))
        if big == small or t_big <= 3 * t_small:
            return (f"{said}: it received a reference to the same array, so nothing was copied "
                    f"and the size made no difference.")
        return (f"{said}: it received a reference to the same array, so nothing was copied; "
                f"the slower big message shows a busy machine, not copying (look at the spread "
                f"in the table).")

    def __str__(self) -> str:
        return (f"Message transfer times, processes started with {self.start_method!r}, "
                f"median of {self.repeats} repeats\n{self.table()}")


def _compare(ratio: float) -> str:
    """'6.3 times faster than', 'about as fast as' or '2.1 times slower than'."""
    if 0.9 <= ratio <= 1.1:
        return "about as fast as"
    if ratio > 1:
        return f"{ratio:.1f} times faster than"
    return f"{1 / ratio:.1f} times slower than"


def measure_transfers(sizes: Sequence[int] | None = None, methods: Sequence[str] = METHODS,
                      repeats: int | None = None, start_method: str | None = None,
                      timeout: float = 60.0) -> TransferTable:
    """Time getting messages of each size to a waiting receiver, for each method.

    One receiver per method is started first (a process; a thread for
    ``"thread"``) and kept for the whole measurement, so start-up is not
    counted. Each timed *transfer* is: the parent sends a NumPy array of
    ``size`` bytes, the receiver reads it and answers with its first and last
    byte, the parent checks the answer. For every size: one warm-up transfer,
    then ``repeats`` timed ones, the methods taking turns so that a busy
    moment on the machine hits them all alike.

    Defaults: :func:`default_sizes` and 5 repeats (3 in quick mode).
    ``timeout`` (s) bounds each wait. Bad input raises ValueError/TypeError
    before any process starts; every process, the shared block and the
    Manager are gone when this returns or raises.
    """
    if sizes is None:
        sizes = default_sizes()
    sizes = check_message_sizes(sizes)
    methods = _check_methods(methods)
    if repeats is None:
        repeats = 3 if system.quick_mode() else 5
    if isinstance(repeats, bool) or not isinstance(repeats, int) or not 1 <= repeats <= 50:
        raise ValueError(f"repeats must be a whole number from 1 to 50, not {repeats!r}.")
    if not (isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and timeout > 0):
        raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}.")
    method = start_method or system.course_start_method()
    if method not in system.start_methods():
        raise ValueError(f"Start method {method!r} does not exist here. This platform offers: "
                         f"{', '.join(system.start_methods())}.")

    ctx = mp.get_context(method)
    capacity = max(sizes)
    table = TransferTable(method, sizes, methods, repeats)
    receivers: list[_Receiver] = []
    manager = None
    running_before = set(mp.active_children())
    with shared_array((capacity,), "uint8") as block:
        try:
            if "Manager" in methods:
                manager = ctx.Manager()
            # Processes first, the thread last: forking a process that runs threads is unsafe.
            for m in sorted(methods, key=lambda m: m == "thread"):
                receivers.append(_Receiver(m, ctx, capacity, block, manager))
            for r in receivers:
                r.wait_ready(timeout)
            count = 0
            for size in sizes:
                message = np.ones(size, dtype=np.uint8)
                for rep in range(repeats + 1):  # the first round is the warm-up
                    for r in receivers:
                        count += 1
                        message[0], message[-1] = count % 251, (count * 7) % 251
                        seconds = r.transfer(message, timeout)
                        if rep > 0:
                            table.times.setdefault((r.method, size), []).append(seconds)
                del message
        finally:
            for r in receivers:
                r.stop()
            if manager is not None:
                manager.shutdown()
            # Anything started here and still running (e.g. after an interrupt during start-up).
            launch.stop_processes([p for p in mp.active_children() if p not in running_before])
    return table


def _color(method: str) -> str:
    # plots (and so matplotlib) is imported only when drawing: receiver processes never need it.
    from .plots import COLORS, CORE_COLORS

    return {**COLORS, "sky": CORE_COLORS[1]}[METHOD_COLORS[method]]


def _label(method: str) -> str:
    return "thread (a reference, no copy)" if method == "thread" else method


def _size_axis(ax, table: TransferTable) -> None:
    """Log x axis with the measured sizes written as 1 kB, 8 MB, ..."""
    ax.set_xscale("log")
    ax.set_xticks(table.sizes, [format_bytes(s) for s in table.sizes])
    ax.minorticks_off()
    ax.set_xlabel("message size (bytes; 1 kB = 1000 bytes)")


def draw_transfer_times(ax, table: TransferTable) -> None:
    """Log-log plot of the median time per message against message size, min-max band shaded."""
    for m in table.methods:
        med = [table.median(m, s) for s in table.sizes]
        lo, hi = zip(*(table.spread(m, s) for s in table.sizes))
        color = _color(m)
        ax.fill_between(table.sizes, lo, hi, color=color, alpha=0.2, lw=0)
        ax.plot(table.sizes, med, marker=METHOD_MARKERS[m], color=color, label=_label(m))
    _size_axis(ax, table)
    ax.set_yscale("log")
    ax.set_ylabel("time per message (s)")
    ax.set_title("Time to get one message across (lower is better)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize="small")


def draw_bandwidths(ax, table: TransferTable) -> None:
    """Log-log plot of bandwidth between processes (MB/s, from the median time) against message size.

    The thread is left out: it is handed a reference, so no bytes move at all.
    """
    for m in table.methods:
        if m == "thread":
            continue
        rate = [table.bandwidth(m, s) / MB for s in table.sizes]
        lo = [s / table.spread(m, s)[1] / MB for s in table.sizes]
        hi = [s / table.spread(m, s)[0] / MB for s in table.sizes]
        color = _color(m)
        ax.fill_between(table.sizes, lo, hi, color=color, alpha=0.2, lw=0)
        ax.plot(table.sizes, rate, marker=METHOD_MARKERS[m], color=color, label=m)
    _size_axis(ax, table)
    ax.set_yscale("log")
    ax.set_ylabel("bandwidth (MB/s)")
    ax.set_title("Bandwidth between processes (higher is better)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize="small")


# --------------------------------------------------------------------------- formatting


def format_bytes(n: float) -> str:
    """1000 -> '1 kB', 8_000_000 -> '8 MB' (decimal units: 1 kB = 1000 bytes)."""
    for unit, scale in (("GB", 1000**3), ("MB", MB), ("kB", KB)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n:.3g} B"


def format_seconds(s: float) -> str:
    """0.000042 -> '42 µs', 0.0123 -> '12.3 ms', 1.5 -> '1.5 s'."""
    if s < 1e-3:
        return f"{s * 1e6:.3g} µs"
    if s < 1:
        return f"{s * 1e3:.3g} ms"
    return f"{s:.3g} s"

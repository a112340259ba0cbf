"""How much memory do threads and processes really take? RSS, USS and PSS, measured.

The operating system can count a process's memory in three ways:

- **RSS** (resident set size): every page of the process that is in RAM now,
  *including pages it shares* with other processes (libraries, and after
  ``fork`` everything it inherited from its parent). Adding up the RSS of
  several processes counts shared pages again and again, so it overstates.
- **USS** (unique set size): the pages only this process uses. It is what the
  machine gets back when the process ends.
- **PSS** (proportional set size): USS plus a fair share of each shared page
  (a page shared by 4 processes counts 1/4 in each). PSS adds up to the real
  total. Only Linux reports it.

psutil reads all three (``psutil.Process(pid).memory_full_info()``). Every
function here cleans up after itself: no child process it starts survives it,
whatever goes wrong.
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import psutil

from . import launch, system
from .processes import idle_threads

MB = 1024**2
#: The largest array (MB) :func:`copy_on_write_demo` will make. Its peak is about 3x this
#: (parent array + the pickled copy on its way to a spawn child + the child's copy).
MAX_ARRAY_MB = 160
#: The array size used when none is given: normal and quick mode (``COURSE_QUICK=1``).
DEFAULT_ARRAY_MB = 128
QUICK_ARRAY_MB = 32
#: Most idle workers :func:`idle_threads_vs_processes` starts.
MAX_IDLE_WORKERS = 16
#: Seconds a demo waits for a child before it gives up (and a child waits for its parent).
DEFAULT_TIMEOUT = 60.0


# --------------------------------------------------------------------------- measuring


@dataclass(frozen=True)
class Footprint:
    """Memory of one process in bytes. ``uss``/``pss`` are None where the OS does not report them."""

    pid: int
    rss: int
    uss: int | None
    pss: int | None
    vms: int

    def __str__(self) -> str:
        return (f"pid {self.pid:>7}: RSS {_mb(self.rss)}  USS {_mb(self.uss)}  "
                f"PSS {_mb(self.pss)}  (virtual {_mb(self.vms)})")


def _mb(value: int | None, width: int = 8) -> str:
    return f"{'n/a':>{width}}" if value is None else f"{value / MB:>{width - 3}.1f} MB"


def megabytes(value: int | None) -> str:
    """A byte count as text in MB, e.g. "12.3 MB"; "n/a" for None (a number this OS does not report)."""
    return "n/a" if value is None else f"{value / MB:.1f} MB"


def footprint(pid: int | None = None) -> Footprint:
    """Measure RSS, USS, PSS and virtual size of process ``pid`` (default: this one).

    USS and PSS need ``memory_full_info``, which reads every memory mapping (a
    few ms). PSS exists on Linux only; where the OS refuses USS, it is None.
    """
    try:
        proc = psutil.Process(pid)
        try:
            info = proc.memory_full_info()
        except (psutil.AccessDenied, NotImplementedError):
            info = proc.memory_info()
    except psutil.NoSuchProcess:
        raise ValueError(f"There is no process with pid {pid} (it may have ended).") from None
    return Footprint(proc.pid, info.rss, getattr(info, "uss", None), getattr(info, "pss", None),
                     info.vms)


def pss_available() -> bool:
    """True if this OS reports PSS (Linux does; macOS and Windows do not)."""
    return footprint().pss is not None


def tree_footprint(pid: int | None = None) -> list[Footprint]:
    """Footprints of a process and all its descendants (processes that end meanwhile are skipped)."""
    root = psutil.Process(pid)
    result = [footprint(root.pid)]
    for child in root.children(recursive=True):
        try:
            result.append(footprint(child.pid))
        except ValueError:
            continue
    return result


def total(footprints: list[Footprint]) -> dict[str, int | None]:
    """Sum RSS, USS and PSS over processes (a sum is None if any process lacks that number)."""
    sums: dict[str, int | None] = {}
    for name in ("rss", "uss", "pss"):
        values = [getattr(f, name) for f in footprints]
        sums[name] = None if any(v is None for v in values) else sum(values)
    return sums


# --------------------------------------------------------------------------- N threads vs N processes


@dataclass
class IdleComparison:
    """This process's footprint with ``n`` idle threads, and ``n`` idle child processes' footprints."""

    n: int
    start_method: str
    parent_before: Footprint
    parent_with_threads: Footprint
    children: list[Footprint] = field(default_factory=list)

    def thread_growth(self) -> dict[str, int | None]:
        """How much this process grew (bytes) when the ``n`` threads started."""
        b, a = self.parent_before, self.parent_with_threads
        return {"rss": a.rss - b.rss, "uss": None if a.uss is None or b.uss is None else a.uss - b.uss,
                "vms": a.vms - b.vms}

    def table(self) -> str:
        """The comparison as a plain-text table (MB)."""
        grow = self.thread_growth()
        sums = total(self.children)
        rows = [f"{'':<44}{'RSS':>11}{'USS':>11}{'PSS':>11}",
                f"{'this process alone':<44}{_mb(self.parent_before.rss, 11)}"
                f"{_mb(self.parent_before.uss, 11)}{_mb(self.parent_before.pss, 11)}",
                f"{f'growth with {self.n} idle threads':<44}{_mb(grow['rss'], 11)}"
                f"{_mb(grow['uss'], 11)}{'':>11}"]
        for i, f in enumerate(self.children):
            rows.append(f"{f'idle process {i} ({self.start_method})':<44}{_mb(f.rss, 11)}"
                        f"{_mb(f.uss, 11)}{_mb(f.pss, 11)}")
        rows.append(f"{f'sum over the {self.n} idle processes':<44}{_mb(sums['rss'], 11)}"
                    f"{_mb(sums['uss'], 11)}{_mb(sums['pss'], 11)}")
        return "\n".join(rows)


def wait_idle(started, release, timeout: float) -> None:
    """Body of an idle child process: say "started" at the barrier, then wait to be released.

    It ends by itself after ``timeout`` seconds if nobody releases it.
    """
    try:
        started.wait(timeout)
    except Exception:  # the parent gave up (broken barrier): just end
        return
    release.wait(timeout)


def idle_threads_vs_processes(n: int = 4, start_method: str | None = None,
                              timeout: float = DEFAULT_TIMEOUT) -> IdleComparison:
    """Measure ``n`` idle threads (growth of this process) against ``n`` idle processes (their footprints).

    Both kinds only wait, so what you see is the bare cost of existing. All
    children have finished starting before anything is measured, and all are
    stopped before this returns.
    """
    _check_count(n)
    method = _check_method(start_method)
    _check_timeout(timeout)
    gc.collect()
    before = footprint()
    with idle_threads(n, timeout):
        with_threads = footprint()
    result = IdleComparison(n, method, before, with_threads)

    ctx = mp.get_context(method)
    started, release = ctx.Barrier(n + 1), ctx.Event()
    procs = [ctx.Process(target=wait_idle, args=(started, release, timeout), daemon=True,
                         name=f"idle-{i}") for i in range(n)]
    try:
        with interrupts_held_back():  # a half-started child could not be stopped
            for p in procs:
                p.start()
        try:
            started.wait(timeout)
        except Exception:  # BrokenBarrierError or a timeout
            raise TimeoutError(f"{n} idle processes did not all start within {timeout:g} s") from None
        result.children = [footprint(p.pid) for p in procs]
    finally:
        with interrupts_held_back():  # an interrupted join would leave children unreaped
            release.set()
            started.abort()
            launch.stop_processes(procs)
    return result


# --------------------------------------------------------------------------- copy-on-write


def hold_array(conn, array, timeout: float) -> None:
    """Body of a child that holds ``array`` (or None) and obeys commands from its parent.

    Sends "ready", then waits for commands: ``"write_half"`` adds 1 to the first
    half of the array (touching every page there) and answers "done";
    anything else, or ``timeout`` seconds of silence, ends the child.
    """
    try:
        conn.send("ready")
        while conn.poll(timeout):
            command = conn.recv()
            if command == "write_half" and array is not None:
                array[: len(array) // 2] += 1.0
                conn.send("done")
            else:
                break
    except (EOFError, OSError):  # the parent has gone or gave up: nothing left to do
        pass
    finally:
        conn.close()


@contextmanager
def interrupts_held_back() -> Iterator[None]:
    """Delay Ctrl-C / "Interrupt kernel" until the block ends, then raise KeyboardInterrupt.

    Starting a ``spawn`` child with a big argument means writing it down a pipe.
    Interrupted in the middle, the child exists but Python has not yet recorded
    it, so nobody could stop or reap it. Only the main thread receives Ctrl-C,
    so elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: pending.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if pending:
        raise KeyboardInterrupt


class ArrayChild:
    """A child process holding an array, controlled from the parent. Use it in a ``with`` block.

    ``pass_array=True`` gives the array to the child as an argument: under
    ``fork`` the child simply inherits the parent's pages; under ``spawn`` and
    ``forkserver`` the array is pickled, sent and rebuilt -- a full copy.
    """

    def __init__(self, start_method: str, array=None, timeout: float = DEFAULT_TIMEOUT):
        self.timeout = timeout
        ctx = mp.get_context(start_method)
        self.conn, child_conn = ctx.Pipe()
        self.proc = ctx.Process(target=hold_array, args=(child_conn, array, timeout), daemon=True,
                                name=f"array-holder-{start_method}")
        try:
            with interrupts_held_back():  # a half-started child could not be stopped
                self.proc.start()
            child_conn.close()
            self._expect("ready")
        except BaseException:
            self.close()
            raise

    def _expect(self, answer: str) -> None:
        try:
            ok = self.conn.poll(self.timeout) and self.conn.recv() == answer
        except (EOFError, OSError):
            ok = False
        if not ok:
            raise TimeoutError(f"the child process did not answer {answer!r} within "
                               f"{self.timeout:g} s (exit code {self.proc.exitcode})")

    def write_half(self) -> None:
        """Ask the child to write to the first half of its array; return when it has."""
        self.conn.send("write_half")
        self._expect("done")

    def footprint(self) -> Footprint:
        """Measure the child's RSS, USS and PSS now (see :func:`footprint`)."""
        return footprint(self.proc.pid)

    def close(self) -> None:
        """Tell the child to end, then make sure it has (terminate, kill if needed)."""
        with interrupts_held_back():  # an interrupted join would leave the child unreaped
            try:
                self.conn.send("quit")
            except (OSError, ValueError):
                pass
            self.conn.close()
            launch.stop_processes([self.proc])

    def __enter__(self) -> ArrayChild:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass
class CopyOnWriteResult:
    """Footprints of the parent holding an array and of children started in different ways."""

    array_mb: float
    rows: list[tuple[str, Footprint]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def get(self, label: str) -> Footprint | None:
        """The footprint measured for ``label`` (None if that scenario was skipped here)."""
        return next((f for name, f in self.rows if name == label), None)

    def table(self) -> str:
        """The footprints as a plain-text table (MB), one row per process, then any notes."""
        rows = [f"{f'array of {self.array_mb:.0f} MB in the parent':<42}{'RSS':>11}{'USS':>11}{'PSS':>11}"]
        for label, f in self.rows:
            rows.append(f"{label:<42}{_mb(f.rss, 11)}{_mb(f.uss, 11)}{_mb(f.pss, 11)}")
        return "\n".join(rows + self.notes)


#: Labels of the rows of :class:`CopyOnWriteResult`, in order.
PARENT = "parent (holds the array)"
FORK_IDLE = "fork child, only inherits the array"
FORK_WROTE = "fork child, after writing half of it"
SPAWN_PLAIN = "spawn child, no array"
SPAWN_ARG = "spawn child, array passed as argument"


def default_array_mb() -> int:
    """Array size for :func:`copy_on_write_demo`: 128 MB (32 MB in quick mode), less if memory is short."""
    wanted = QUICK_ARRAY_MB if system.quick_mode() else DEFAULT_ARRAY_MB
    return max(1, min(wanted, int(system.memory_available() / MB / 10)))


def check_array_mb(array_mb: object) -> float:
    """Raise a clear error unless ``array_mb`` is a size in MB the demo can afford here; return it."""
    if isinstance(array_mb, bool) or not isinstance(array_mb, (int, float)):
        raise TypeError(f"array_mb is a size in megabytes (a number), not {array_mb!r}.")
    if not 1 <= array_mb <= MAX_ARRAY_MB:
        raise ValueError(f"array_mb={array_mb!r}: use from 1 to {MAX_ARRAY_MB} MB. The effect shows "
                         f"clearly at 32 MB; more only costs memory.")
    free_mb = system.memory_available() / MB
    if 4 * array_mb > free_mb:
        raise ValueError(f"The demo needs about {4 * array_mb:.0f} MB at its peak, but only "
                         f"{free_mb:.0f} MB is free. Use a smaller array_mb.")
    return float(array_mb)


def copy_on_write_demo(array_mb: float | None = None, timeout: float = DEFAULT_TIMEOUT) -> CopyOnWriteResult:
    """Make an array of ``array_mb`` MB here, then measure children that fork, write, or spawn.

    1. a ``fork`` child that only has the array (inherited, shared page by page),
    2. the same child after it wrote to half the array (copy-on-write copies those pages),
    3. a ``spawn`` child without the array (a fresh Python that imported this module),
    4. a ``spawn`` child given the array as an argument (pickled: a full copy).

    Scenarios the platform cannot run (no ``fork`` on Windows) are skipped with a note.
    """
    import numpy as np

    size = check_array_mb(default_array_mb() if array_mb is None else array_mb)
    _check_timeout(timeout)
    methods = system.start_methods()
    result = CopyOnWriteResult(size)
    array = np.full(int(size * MB) // 8, 1.0)  # float64; every page written, so resident
    try:
        result.rows.append((PARENT, footprint()))
        if "fork" in methods:
            with ArrayChild("fork", array, timeout) as child:
                result.rows.append((FORK_IDLE, child.footprint()))
                child.write_half()
                result.rows.append((FORK_WROTE, child.footprint()))
        else:
            result.notes.append("fork does not exist on this platform (Windows): no process can "
                                "share its parent's pages here, so rows 2 and 3 are skipped.")
        with ArrayChild("spawn", None, timeout) as child:
            result.rows.append((SPAWN_PLAIN, child.footprint()))
        with ArrayChild("spawn", array, timeout) as child:
            result.rows.append((SPAWN_ARG, child.footprint()))
    finally:
        del array
        gc.collect()
    return result


def draw_footprints(ax, rows: list[tuple[str, Footprint]]) -> None:
    """Horizontal bars of RSS, PSS and USS (MB) for each labelled footprint; missing numbers are left out."""
    kinds = [("rss", "RSS: shared pages fully", "#999999"),
             ("pss", "PSS: shared pages split", "#E69F00"),
             ("uss", "USS: own pages only", "#009E73")]
    height = 0.8 / len(kinds)
    for k, (name, label, color) in enumerate(kinds):
        ys, values = [], []
        for i, (_, f) in enumerate(rows):
            value = getattr(f, name)
            if value is not None:
                ys.append(i + (k - 1) * height)
                values.append(value / MB)
        if values:
            ax.barh(ys, values, height=height, color=color, label=label)
    ax.set_yticks(range(len(rows)), [label for label, _ in rows])
    ax.invert_yaxis()
    ax.set_xlabel("memory (MB)")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=len(kinds))


# --------------------------------------------------------------------------- input checks


def _check_count(n: object) -> None:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"The number of workers must be a whole number, not {n!r}.")
    if not 1 <= n <= MAX_IDLE_WORKERS:
        raise ValueError(f"Use from 1 to {MAX_IDLE_WORKERS} idle workers, not {n}; "
                         f"a handful already shows the difference.")
    needed = n * launch.PROCESS_MEMORY_ESTIMATE
    if needed > system.memory_available():
        raise ValueError(f"{n} processes need roughly {needed / 1024**3:.1f} GB, but only "
                         f"{system.memory_available() / 1024**3:.1f} GB is free. Use fewer.")


def _check_method(start_method: str | None) -> str:
    method = system.course_start_method() if start_method is None else start_method
    if method not in system.start_methods():
        raise ValueError(f"The start method {method!r} does not exist on this platform; "
                         f"it offers {', '.join(system.start_methods())}.")
    return method


def _check_timeout(timeout: object) -> None:
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}.")

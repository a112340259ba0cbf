"""Exercise checkers of lesson 07: a pool script run for real, and the capstone word count.

* :func:`check_pool_script` writes *your* script to a temporary file and runs it
  as a separate ``python`` (a real ``__main__`` module, as on the command line),
  with a deadline; it reads what the script printed and, when it failed, explains
  the error it printed (no ``__main__`` guard, a function that cannot be pickled).
* :func:`check_word_count` runs *your* ``fn(docs)`` on the capstone corpus,
  watches what it starts (pool threads, worker processes, Dask tasks), checks the
  counts, then times it in turn with the serial count and a reference solution.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..checking import missing_answer, report, run_learner
from ..exercises import Feedback

__all__ = ["NOTEBOOKS", "SQUARES_TOTAL", "ScriptRun", "run_script", "check_pool_script",
           "check_word_count", "reference_count"]

#: Where the notebooks (and ``workers/``) are: scripts run there, as the kernel does.
NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
#: What the pool script must print: the sum of x*x for x in range(10_000).
SQUARES_TOTAL = sum(x * x for x in range(10_000))
#: Printed by a spawn child that re-runs an unguarded pool at import time.
BOOTSTRAP_ERROR = "bootstrapping phase"


# --------------------------------------------------------------------------- scripts


@dataclass
class ScriptRun:
    """How a script run as its own ``python`` ended."""

    returncode: int | None  # None: stopped at the deadline
    stdout: str
    stderr: str
    seconds: float
    leftovers: int = 0  # processes of the script still alive after it ended (then stopped)

    @property
    def timed_out(self) -> bool:
        return self.returncode is None

    def tail(self, lines: int = 6) -> str:
        """The last lines of what the script printed to stderr (where Python writes errors)."""
        return "\n".join(self.stderr.strip().splitlines()[-lines:])


def _group_alive(pgid: int) -> list:
    """Live (not zombie) processes in the process group ``pgid``."""
    import psutil

    found = []
    for q in psutil.process_iter(["status"]):
        with contextlib.suppress(OSError, psutil.Error):
            if os.getpgid(q.pid) == pgid and q.info["status"] != psutil.STATUS_ZOMBIE:
                found.append(q)
    return found


def _stop_tree(proc: subprocess.Popen, grace: float = 0.0) -> int:
    """Kill ``proc``, its children and (POSIX) anything else in its session; return how many were alive."""
    import psutil

    alive = 0
    try:
        family = psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error:
        family = []
    for p in family:
        with contextlib.suppress(psutil.Error):
            p.kill()
            alive += 1
    if proc.poll() is None:
        proc.kill()
    if hasattr(os, "killpg"):  # orphans whose parent already exited stay in the session
        deadline = time.perf_counter() + grace  # multiprocessing's resource tracker ends by itself
        while _group_alive(proc.pid) and time.perf_counter() < deadline:
            time.sleep(0.05)
        for q in _group_alive(proc.pid):
            alive += 1
            with contextlib.suppress(psutil.Error):
                q.kill()
    proc.wait(5)
    return alive


def run_script(text: str, timeout: float = 60.0) -> ScriptRun:
    """Run ``text`` as a script (``python pool_script.py``) in the notebooks folder, with a deadline.

    The script can ``import workers.lesson07``. At the deadline the script and
    every process it started are killed. Nothing is left behind: not the
    temporary file, not a process.
    """
    if not isinstance(text, str):
        raise TypeError(f"The script must be text (a string), not {type(text).__name__}.")
    folder = Path(tempfile.mkdtemp(prefix="course_script_"))
    path = folder / "pool_script.py"
    path.write_text(text)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(NOTEBOOKS), str(NOTEBOOKS.parent), env.get("PYTHONPATH", "")) if p)
    t0 = time.perf_counter()
    # Output goes to files, not pipes: a process the script leaves behind would keep a pipe open.
    with open(folder / "out.txt", "w") as out_file, open(folder / "err.txt", "w") as err_file:
        proc = subprocess.Popen([sys.executable, str(path)], cwd=NOTEBOOKS, env=env,
                                stdout=out_file, stderr=err_file,
                                start_new_session=hasattr(os, "killpg"))
    try:
        try:
            code = proc.wait(timeout=timeout)
            leftovers = _stop_tree(proc, grace=2.0)
        except subprocess.TimeoutExpired:
            _stop_tree(proc)
            code, leftovers = None, 0
        out = (folder / "out.txt").read_text(errors="replace")
        err = (folder / "err.txt").read_text(errors="replace")
    finally:
        if proc.poll() is None:
            _stop_tree(proc)
        shutil.rmtree(folder, ignore_errors=True)
    return ScriptRun(code, out, err, time.perf_counter() - t0, leftovers)


def _has_placeholder(text: str) -> bool:
    return any(line.strip().startswith("...") for line in text.splitlines())


def check_pool_script(script: object, timeout: float = 60.0) -> Feedback:
    """Run your pool script as its own ``python`` and check that it prints the sum of the squares.

    Rejected, with what went wrong: no process pool or no spawn context in the
    text; the error a spawn child prints when the pool is not behind the
    ``__main__`` guard; a function that cannot be pickled (a lambda, a nested
    function); a script that never ends (killed at ``timeout``); a wrong result.
    """
    if script is None or script is Ellipsis or not isinstance(script, str) \
            or _has_placeholder(script):
        return report(False, "Replace the ... in the script with your code, then run the cell "
                             "again.")
    if "ProcessPoolExecutor" not in script:
        return report(False, "The script should hand the work to a ProcessPoolExecutor.")
    if "spawn" not in script:
        return report(False, "Use the spawn start method in the script (the default on macOS "
                             "and Windows): mp_context=multiprocessing.get_context(\"spawn\").")
    run = run_script(script, timeout)
    if run.timed_out:
        return report(False, f"The script was still running after {timeout:g} s, so it and its "
                             f"worker processes were stopped. Does every result arrive? Is "
                             f"something waiting without a timeout?")
    if run.returncode != 0:
        if BOOTSTRAP_ERROR in run.stderr:
            return report(False, (
                "A spawn child started by your script failed with RuntimeError: 'An attempt has "
                "been made to start a new process before the current process has finished its "
                "bootstrapping phase'. A spawn child imports your script again to find the "
                "worker function; every line at the top level runs again in the child, pool "
                "included. Which lines should run only when the script is the main program?"))
        low = run.stderr.lower()
        if "pickle" in low or "local object" in low:
            return report(False, (
                "The pool could not send the worker function to the children:\n"
                f"{run.tail(2)}\nA child finds its function by module and name. A lambda, or a "
                "function defined inside another function, has no such name."))
        tail = run.tail()
        return report(False, f"The script ended with exit code {run.returncode}" + (
            f". Its last error lines:\n{tail}" if tail else " and printed no error: did it "
            "call sys.exit()?"))
    lines = [line.strip() for line in run.stdout.splitlines() if line.strip()]
    last = lines[-1].replace(",", "").replace("_", "") if lines else ""
    if last != str(SQUARES_TOTAL):
        return report(False, f"The script ran, but its last printed line was {last[:80]!r}. "
                             f"Print the sum of square(x) for x in range(10_000), nothing after it.")
    if run.leftovers:
        return report(False, "The script printed the right sum but left processes running after "
                             "it ended (they were stopped now). Let the pool shut down: a with block.")
    return report(True, f"Your script printed {SQUARES_TOTAL} as its own python, under spawn, in "
                        f"{run.seconds:.2f} s (most of it starting Python and the workers).")


# --------------------------------------------------------------------------- the capstone


def reference_count(docs: list[str], n_workers: int = 2, start_method: str | None = None) -> Counter:
    """The reference solution: one chunk per worker process, the pool started inside, merged."""
    from concurrent.futures import ProcessPoolExecutor

    from workers.lesson07 import count_words, split_into_chunks

    from .. import system

    method = system.course_start_method() if start_method is None else start_method
    total: Counter = Counter()
    with ProcessPoolExecutor(max_workers=n_workers, mp_context=mp.get_context(method)) as pool:
        for part in pool.map(count_words, split_into_chunks(docs, n_workers), timeout=60):
            total.update(part)
    return total


class _Witness:
    """Notes, while a function runs, every new thread and child process it makes."""

    def __init__(self) -> None:
        import psutil

        self._me = psutil.Process()
        self._threads_before = {t.ident for t in threading.enumerate()}
        self._children_before = self._children()
        self.threads: set[int] = set()
        self.processes: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="check-witness", daemon=True)

    def _children(self) -> set[int]:
        try:
            return {c.pid for c in self._me.children(recursive=True)}
        except Exception:  # psutil.Error: a child ended while we looked
            return set()

    def _look(self) -> None:
        self.threads |= {t.ident for t in threading.enumerate()
                         if t.ident not in self._threads_before
                         and t.name not in ("your-code", "watch-alarm", "check-witness")}
        self.processes |= self._children() - self._children_before

    def _watch(self) -> None:
        while not self._stop.wait(0.005):
            self._look()

    def __enter__(self) -> _Witness:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(5)
        self._look()


def _dask_client():
    """The Dask client of this kernel, if one is open (else None)."""
    if "distributed" not in sys.modules:
        return None
    from distributed import default_client

    try:
        client = default_client()
    except ValueError:
        return None
    # The client unpacks big results in a thread pool of its own that starts on first use;
    # start it now, so that its idle thread is not taken for work your function left running.
    with contextlib.suppress(Exception):
        from distributed.utils import _offload_executor

        _offload_executor.submit(int).result(10)
    return client


def _count_hint(result: object, answer: Counter) -> str | None:
    """None if ``result`` is the right count, else what is wrong with it."""
    if result is None:
        return "Your function returned None. Replace the ... with your code and return the counts."
    if not isinstance(result, Mapping):
        return (f"Return the counts as a Counter (word -> how many times), not "
                f"{type(result).__name__}.")
    if Counter(result) == answer:
        return None
    got = sum(v for v in result.values() if isinstance(v, int))
    expected = answer.total()
    if got < expected:
        return (f"You counted {got:,} words; the corpus has {expected:,}. Was every chunk "
                f"counted, and were the counts of all chunks added together?")
    if got > expected:
        return (f"You counted {got:,} words; the corpus has only {expected:,}: some documents "
                f"were counted more than once. Do your chunks overlap?")
    return "The total is right but some words differ: count with w.count_words."


def check_word_count(fn: Callable, job, n_workers: int = 2, repeats: int = 2,
                     timeout: float = 30.0) -> Feedback:
    """Check your capstone solution ``fn(docs)``: right counts, really concurrent, not slow.

    1. Runs ``fn(job.docs)`` (never hangs: ``timeout`` s) while noting the threads,
       processes and Dask tasks it uses; a wrong count, an error, work left running
       or a run with no concurrency at all is rejected with a hint.
    2. Times it ``repeats`` times in turn with the serial count and the reference
       solution (:func:`reference_count`), and compares. Rejected only if clearly
       slower than the reference (more than 2.5x its time + 0.25 s).
    """
    problem = missing_answer(fn)
    if problem:
        return report(False, problem)
    answer = job.answer()
    client = _dask_client()
    tasks = []
    with _Witness() as seen:
        stream = contextlib.nullcontext() if client is None else _task_stream(client)
        with stream as recorded:
            outcome = run_learner(fn, (job.docs,), timeout, what="count_words_parallel")
        if recorded is not None:
            tasks = recorded.data
    if not outcome.ok:
        return report(False, outcome.problem)
    hint = _count_hint(outcome.value, answer)
    if hint:
        return report(False, hint)
    if not (seen.threads or seen.processes or tasks):
        return report(False, "Right counts, but everything ran in one thread: no pool thread, "
                             "no worker process and no Dask task was seen while your function "
                             "ran. Hand the chunks to workers.")
    mine, theirs = [outcome.seconds], []
    for i in range(repeats):
        if i == 0:
            job.time_serial()  # once: the job has been timed serially before
        ref = run_learner(reference_count, (job.docs, n_workers), timeout, what="the reference")
        if ref.ok:
            theirs.append(ref.seconds)
        if i > 0:
            again = run_learner(fn, (job.docs,), timeout, what="count_words_parallel")
            if not again.ok:
                return report(False, again.problem)
            mine.append(again.seconds)
    serial = statistics.median(job.serial_times)
    used = ", ".join(part for part in (
        f"{len(seen.threads)} new thread(s)" if seen.threads else "",
        f"{len(seen.processes)} worker process(es)" if seen.processes else "",
        f"{len(tasks)} Dask task(s)" if tasks else "") if part)
    text = (f"Your function used {used}; it took {statistics.median(mine):.3f} s (median), "
            f"{serial / statistics.median(mine):.2f}x the serial speed ({serial:.3f} s)")
    if not theirs:
        return report(True, text + ".")
    reference = statistics.median(theirs)
    text += (f"; the reference process pool, timed in turn with it: {reference:.3f} s, "
             f"{serial / reference:.2f}x.")
    if statistics.median(mine) > 2.5 * reference + 0.25:
        return report(False, text + " Yours is far slower: how often does it start workers, and "
                                    "how many messages does it send them?")
    if statistics.median(mine) > serial:
        text += (" Slower than serial: in a job this small, starting workers and sending them "
                 "the text cost more than the counting they share (or other programs were busy). "
                 "Try a bigger job: capstone.make_job(seconds=4).")
    return report(True, text)


@contextlib.contextmanager
def _task_stream(client):
    """Record the Dask tasks run meanwhile (``distributed.get_task_stream``)."""
    from distributed import get_task_stream

    with get_task_stream(client) as stream:
        yield stream

"""Exercise checkers for lesson 03 (speedup and the GIL).

Each checker runs the learner's own function (through
:func:`helpers.checking.run_learner`, so it never hangs and leaves nothing
running), watches *how* it ran -- which threads made the calls, how many ran
at once, which child processes appeared -- measures its speedup against a
plain loop, and prints ``Correct! ...`` or ``Not yet. ...`` with a hint.

- :func:`check_fetch_all`: waiting jobs made faster with threads.
- :func:`check_spin_all`: a pure-Python job made faster with processes.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable

from .. import system, workloads
from ..checking import report, run_learner
from ..exercises import Feedback

__all__ = ["check_fetch_all", "check_spin_all", "FakeServer", "URLS", "N_THREADS"]

#: The "web pages" fetch_all gets, and how many threads it may use.
URLS = [f"https://example.org/page/{i}" for i in range(12)]
N_THREADS = 4
#: Seconds fetch() waits for each URL: the later ones answer sooner, so pages that are
#: collected in the order they arrive come out in the wrong order.
DELAYS = {url: 0.06 - 0.004 * i for i, url in enumerate(URLS)}
#: Least speedup over the plain loop that fetch_all must reach (4 threads could give ~3.5x).
MIN_IO_SPEEDUP = 1.5
#: Least speedup over the plain loop that spin_all must reach when there are 2+ CPUs.
MIN_CPU_SPEEDUP = 1.15


class FakeServer:
    """A pretend web server: ``fetch(url)`` waits (``time.sleep``, GIL released) and returns a page.

    It notes which threads called it and how many calls were waiting at the same time.
    """

    def __init__(self, delays: dict[str, float] = DELAYS):
        self.delays = delays
        self._lock = threading.Lock()
        self.in_flight = 0
        self.most_at_once = 0
        self.calls = 0
        self.callers: set[int] = set()

    def fetch(self, url: str) -> str:
        """Wait as a download would, then return the page for ``url``."""
        with self._lock:
            self.calls += 1
            self.in_flight += 1
            self.most_at_once = max(self.most_at_once, self.in_flight)
            self.callers.add(threading.get_ident())
        try:
            time.sleep(self.delays.get(url, 0.01))
            return page_for(url)
        finally:
            with self._lock:
                self.in_flight -= 1


def page_for(url: str) -> str:
    """The page the fake server returns for ``url``."""
    return f"<html>{url}</html>"


def _timed(fn: Callable, box: dict) -> Callable:
    """``fn`` wrapped so that its own run time (without the checker's set-up) lands in ``box``."""
    def call(*args):
        box["thread"] = threading.get_ident()
        t0 = time.perf_counter()
        try:
            value = fn(*args)
            # a copy as it was at return: threads still running may fill it in later
            box["value"] = list(value) if isinstance(value, (list, tuple)) else value
            return value
        finally:
            box["seconds"] = time.perf_counter() - t0
    return call


def _result_problem(value: object, expected: list, what: str) -> str | None:
    """What is wrong with a returned list of results (None if it is right)."""
    if isinstance(value, (list, tuple)) and list(value) == expected:
        return None
    if not isinstance(value, (list, tuple)):
        kind = "a generator" if hasattr(value, "__next__") else type(value).__name__
        return (f"Your function returned {kind}, not a list. Return a list with one {what} "
                f"per input, in the order of the inputs.")
    got = list(value)
    missing = sum(1 for v in got if v is None) + max(0, len(expected) - len(got))
    if missing:
        return (f"{missing} of the {len(expected)} {what}s are missing (None, or the list is "
                "short). Did your function return before every worker had finished? join() "
                "each thread or process (or leave the pool's with-block) before returning.")
    if len(got) == len(expected) and sorted(map(repr, got)) == sorted(map(repr, expected)):
        return (f"All the {what}s are there, but in the wrong order. Results that are collected "
                "as the workers finish come back in finishing order: keep each one at the index "
                "of its input.")
    wrong = next(i for i, (a, b) in enumerate(zip(got, expected)) if a != b) \
        if len(got) == len(expected) else None
    if wrong is None:
        return f"Expected {len(expected)} {what}s, got {len(got)}."
    return f"Result {wrong} is {got[wrong]!r:.60}, expected {expected[wrong]!r:.60}."


# --------------------------------------------------------------------------- exercise A: threads


def check_fetch_all(fetch_all: Callable, timeout: float = 10.0) -> Feedback:
    """Check ``fetch_all(fetch, urls, n_threads)``: every page, in order, fetched by overlapping threads.

    Runs it with a :class:`FakeServer` (12 URLs, waits of 16-60 ms, 4 threads),
    times a plain loop over the same URLs, and compares.
    """
    serial_server = FakeServer()
    t0 = time.perf_counter()
    expected = [serial_server.fetch(url) for url in URLS]
    serial = time.perf_counter() - t0

    server, box = FakeServer(), {}
    outcome = run_learner(_timed(fetch_all, box), (server.fetch, list(URLS), N_THREADS),
                          timeout=timeout, what="fetch_all")
    if not outcome.ok:
        return report(False, outcome.problem)
    if box.get("value") is None and server.calls == 0:
        return report(False, "fetch_all returned None and fetched nothing. Replace the ... with "
                             "code that fetches every URL in threads and returns the pages.")
    problem = _result_problem(box.get("value"), expected, "page")
    if problem:
        return report(False, problem)
    if server.callers <= {box.get("thread")}:
        return report(False, "Every fetch ran in fetch_all's own thread, one after another: "
                             "that is the plain loop. Let threads do the fetching.")
    if server.most_at_once == 1:
        return report(False, "Threads did the fetching, but never two at the same time, so the "
                             "waits did not overlap. Where do you join() a thread, compared with "
                             "where you start the next one?")
    if server.most_at_once > N_THREADS:
        return report(False, f"Up to {server.most_at_once} fetches ran at once, but n_threads was "
                             f"{N_THREADS}. Use n_threads threads (a server may refuse more).")
    speedup = serial / box["seconds"]
    if speedup < MIN_IO_SPEEDUP:
        return report(False, f"The fetches overlapped, but the whole took {box['seconds']:.2f} s "
                             f"against {serial:.2f} s for the plain loop ({speedup:.2f}x). Does "
                             "anything make the threads wait for each other? Run it again, too.")
    return report(True, f"{len(URLS)} pages with {N_THREADS} threads in {box['seconds']:.2f} s, "
                        f"against {serial:.2f} s one after another: {speedup:.1f}x faster. "
                        "A waiting thread needs no CPU and lets go of the GIL, so this works "
                        "even on 1 CPU.")


# --------------------------------------------------------------------------- exercise B: processes


def cpu_job(seconds: float = 1.0, parts: int = 8) -> list[int]:
    """``parts`` equal shares of about ``seconds`` of ``spin`` work on this machine (steps per share).

    Not shrunk in quick mode: a share must outweigh starting a process.
    """
    steps = seconds / workloads.seconds_per_unit("cpu") * workloads.CPU_UNIT
    return [max(1000, round(steps / parts))] * parts


@contextlib.contextmanager
def _watch_pools():
    """Note every ProcessPoolExecutor created inside, and whether it was shut down."""
    from concurrent.futures import ProcessPoolExecutor as Pool

    pools: dict[int, list] = {}  # id -> [pool, shut down?]
    real_init, real_shutdown = Pool.__init__, Pool.shutdown

    def init(self, *args, **kwargs):
        pools[id(self)] = [self, False]
        real_init(self, *args, **kwargs)

    def shutdown(self, *args, **kwargs):
        if id(self) in pools:
            pools[id(self)][1] = True
        return real_shutdown(self, *args, **kwargs)

    Pool.__init__, Pool.shutdown = init, shutdown
    try:
        yield pools
    finally:
        Pool.__init__, Pool.shutdown = real_init, real_shutdown


def _run_once(fn: Callable, shares: list[int], n: int, timeout: float) -> dict:
    """Run the learner's function once; note its time, child processes, threads and pools."""
    import psutil

    from ..safety import new_child_processes, stop_children

    before = {c.pid for c in psutil.Process().children(recursive=True)}
    threads_before = set(threading.enumerate())
    seen = {"pids": set(), "most": 0, "threads": False, "left": [], "cpu": {}}
    done = threading.Event()

    def sample():
        while not done.wait(0.03):
            kids = new_child_processes(before)
            seen["pids"].update(k.pid for k in kids)
            seen["most"] = max(seen["most"], len(kids))
            for k in kids:  # CPU seconds each child has used so far
                with contextlib.suppress(psutil.Error):
                    seen["cpu"][k.pid] = sum(k.cpu_times()[:2])
            mine = ("your-code", "lesson03-sampler", "watch-alarm")
            if any(t not in threads_before and t.name not in mine for t in threading.enumerate()):
                seen["threads"] = True

    box: dict = {}
    timed = _timed(fn, box)

    def call(*args):
        try:
            return timed(*args)
        finally:  # right after return: anything still running was not joined / shut down
            seen["left"] = new_child_processes(before)
            if seen["left"]:
                stop_children(seen["left"])

    sampler = threading.Thread(target=sample, name="lesson03-sampler", daemon=True)
    with _watch_pools() as pools:
        sampler.start()
        try:
            outcome = run_learner(call, (list(shares), n), timeout=timeout, what="spin_all")
        finally:
            done.set()
            sampler.join(5)
    return {"outcome": outcome, "seconds": box.get("seconds"), "value": box.get("value"),
            "pools": list(pools.values()), **seen}


def _import_hint(method: str) -> str:
    return (f" Under the {method!r} start method a child process imports its target by name, "
            "and a function defined in a notebook cell lives in the kernel's __main__, which "
            "the child does not have. Give the processes w.spin from workers/lesson03.py.")


def _reference(shares: list[int], n: int, method: str) -> float:
    """Seconds a known-good pool of ``n`` processes takes for ``shares`` now (start-up included)."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    import workers.lesson03 as w

    t0 = time.perf_counter()
    with ProcessPoolExecutor(n, mp_context=mp.get_context(method)) as pool:
        list(pool.map(w.spin, shares))
    return time.perf_counter() - t0


def _serial(shares: list[int]) -> float:
    """Seconds a plain loop takes for ``shares`` now."""
    import workers.lesson03 as w

    t0 = time.perf_counter()
    for steps in shares:
        w.spin(steps)
    return time.perf_counter() - t0


def expected_spin(steps: int) -> int:
    """What ``w.spin(steps)`` returns, without the loop: i*i % 7 repeats every 7 steps."""
    cycle = [i * i % 7 for i in range(7)]
    return sum(cycle) * (steps // 7) + sum(cycle[: steps % 7])


def _judge_run(run: dict, expected: list[int], method: str) -> str | None:
    """What is wrong with one run of spin_all, apart from its speed (None if nothing)."""
    outcome = run["outcome"]
    if not outcome.ok:
        problem = outcome.problem
        markers = ("BrokenProcessPool", "terminated abruptly", "Can't get attribute",
                   "PicklingError", "Can't pickle", "Empty")
        if method != "fork" and (any(m in problem for m in markers)
                                 or (run["pids"] and "did not finish" in problem)):
            problem += " If a child process died before sending its result:" + _import_hint(method)
        return problem
    if run["value"] is None and not run["pids"]:
        return ("spin_all returned None. Replace the ... with code that runs w.spin(steps) for "
                "every share in processes and returns the results.")
    problem = _result_problem(run["value"], expected, "result")
    if problem:
        if method != "fork" and run["pids"]:
            problem += (" (If a child process could not import its target, it died before "
                        "computing anything." + _import_hint(method) + ")")
        return problem
    if not run["pids"]:
        if run["threads"]:
            why = ("With the GIL, threads run pure-Python code one at a time, so they cannot "
                   "speed this job up." if system.gil_enabled() else
                   "On this free-threaded Python threads could speed it up too, but on a "
                   "standard Python (with the GIL) they would take turns.")
            return f"spin_all used threads, not processes. {why} Start processes instead."
        return ("No child process was started: the work ran in spin_all's own thread. Start "
                "processes from mp.get_context(METHOD).")
    unclosed = [p for p, closed in run["pools"] if not closed]
    if unclosed or run["left"]:
        what = (f"{len(unclosed)} ProcessPoolExecutor(s) had not been shut down"
                if unclosed else f"{len(run['left'])} child process(es) were still running")
        return (f"The results are right, but when spin_all returned, {what} (the checker "
                "stopped them). Leave nothing running when you return.")
    return None


def check_spin_all(spin_all: Callable, timeout: float = 20.0) -> Feedback:
    """Check ``spin_all(shares, n_processes)``: ``[w.spin(s) for s in shares]``, computed in processes.

    The job is about 1 s of pure Python split into 8 shares. The result must be
    right, processes must do the work, every pool must be shut down and every
    process joined. Only when 2 or more CPUs are usable must the run also be
    meaningfully faster than a plain loop; if it is not, the checker times a
    known-good pool too, and a machine too busy to speed that one up either is
    not held against you (when your processes did run at the same time).
    """
    method = system.course_start_method()
    cpus = system.usable_cpus()
    n = max(2, min(cpus, 4))
    shares = cpu_job()
    expected = [expected_spin(steps) for steps in shares]
    run = _run_once(spin_all, shares, n, timeout)
    problem = _judge_run(run, expected, method)
    if problem:
        return report(False, problem)
    cpu = sorted(run["cpu"].values(), reverse=True)
    if len(shares) > 1 and n > 1 and cpu and cpu[0] > 0.75 * sum(cpu):
        return report(False, f"Right results, but one child process did {cpu[0] / sum(cpu):.0%} of "
                             "the work while the others waited. Hand the shares out so that "
                             "every process gets some.")
    serial = _serial(shares)  # timed right after yours, so both see about the same machine
    speedup, took = serial / run["seconds"], run["seconds"]
    if cpus == 1:
        return report(True, f"Right results, computed in processes ({took:.2f} s against "
                            f"{serial:.2f} s in a plain loop). With 1 usable CPU processes can "
                            "only take turns, so no speedup is possible here; on more cores the "
                            "same code runs side by side.")
    reference = None
    if speedup < MIN_CPU_SPEEDUP:  # too slow, or is the machine busy? A known-good pool tells.
        reference = serial / _reference(shares, n, method)
    numbers = f"{took:.2f} s in processes against {serial:.2f} s in a plain loop: {speedup:.2f}x"
    if speedup >= MIN_CPU_SPEEDUP:
        return report(True, f"{numbers} (the time includes starting the processes). Each process "
                            "has its own interpreter and its own GIL, so they ran side by side.")
    if reference is not None and run["most"] >= 2 and (reference < MIN_CPU_SPEEDUP
                                                       or speedup >= 0.6 * reference):
        return report(True, f"Right results, and your processes ran at the same time, but "
                            f"{numbers}: this machine is busy right now (a pool the checker "
                            f"started got {reference:.2f}x). Run it again later to see more "
                            "speedup.")
    if run["most"] < 2:
        return report(False, f"Right results, computed in processes, but {numbers}: never two of "
                             "them were running at the same time. Start them all before you "
                             "wait for any.")
    return report(False, f"Right results, computed in processes, but {numbers}, where a plain "
                         f"pool reached {reference:.2f}x. What makes your processes wait?")

"""The capstone job: count the words of a synthetic corpus, three ways in parallel.

The corpus is generated from a seed, so everyone with the same seed and size
gets exactly the same documents -- and the same right answer::

    from helpers import capstone
    job = capstone.make_job(seconds=1.0)          # about 1 s of counting on this machine
    counts = capstone.count_words(job.docs)       # the serial answer (a Counter)
    capstone.check_result(counts, job)            # Correct! ...

Counting is pure Python (split, strip, lower-case, cut a suffix, add one): it
holds the GIL, like much real text processing. Your task in the notebook is to
run it with threads, with processes and on a Dask cluster, and to compare the
speedups with the reference solutions in this module, measured on the same
machine by :func:`reference_timings`.

The worker function is :func:`count_words` (importable, so ``spawn`` children
and Dask workers can run it); :func:`split_into_chunks` and :func:`merge_counts`
are the two other pieces every solution needs.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from . import launch, pools, system, workloads
from .exercises import Feedback

#: Punctuation stripped from both ends of a word.
PUNCTUATION = ".,;:!?\"'()"
#: Endings cut off a word so "counting", "counted" and "counts" count as one word.
SUFFIXES = ("ing", "ed", "es", "s")
#: The most documents a job may have (keeps memory far below Binder's 2 GB).
MAX_DOCS = 200_000
METHODS = ("threads", "processes", "dask")


# --------------------------------------------------------------------------- the corpus


def vocabulary() -> list[str]:
    """The 600 words the corpus is made of (built from syllables, always the same list)."""
    starts = ["b", "c", "d", "f", "g", "l", "m", "n", "p", "r", "s", "t"]
    middles = ["a", "e", "i", "o", "u"]
    ends = ["n", "r", "t", "st", "ck", "ll", "m", "p", "nd", "rk"]
    words = [s + m + e for s in starts for m in middles for e in ends]
    endings = ["", "s", "ed", "ing"]
    return [w + endings[i % 4] for i, w in enumerate(words)]


def make_corpus(n_docs: int, words_per_doc: int = 200, seed: int = 0) -> list[str]:
    """``n_docs`` documents of ``words_per_doc`` words each, the same for the same seed.

    Frequent words are much more frequent than rare ones (as in real text);
    some words start with a capital letter or end with punctuation.
    """
    import numpy as np

    for name, value, top in (("n_docs", n_docs, MAX_DOCS), ("words_per_doc", words_per_doc, 10_000)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
            raise ValueError(f"{name} must be a whole number from 1 to {top:,}, not {value!r}.")
    words = np.array(vocabulary())
    styled = np.array([w.capitalize() for w in words])
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, len(words) + 1)
    picks = rng.choice(len(words), size=(n_docs, words_per_doc), p=weights / weights.sum())
    capital = rng.random((n_docs, words_per_doc)) < 0.1
    marks = rng.choice(["", "", "", "", "", ",", ".", "!"], size=(n_docs, words_per_doc))
    tokens = np.char.add(np.where(capital, styled[picks], words[picks]), marks)
    return [" ".join(row) for row in tokens.tolist()]


def normalise(word: str) -> str:
    """The form a word is counted under: no punctuation, lower case, common ending cut off."""
    word = word.strip(PUNCTUATION).lower()
    for suffix in SUFFIXES:
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            return word[: -len(suffix)]
    return word


def count_words(docs: Sequence[str]) -> Counter:
    """Count every (normalised) word in ``docs``: the capstone's worker function.

    Pure Python from start to end, so it holds the GIL while it runs.
    """
    counts: Counter = Counter()
    for doc in docs:
        for word in doc.split():
            word = normalise(word)
            if word:
                counts[word] += 1
    return counts


def split_into_chunks(docs: Sequence[str], n_chunks: int) -> list[list[str]]:
    """Cut ``docs`` into ``n_chunks`` consecutive pieces whose sizes differ by at most one."""
    if isinstance(n_chunks, bool) or not isinstance(n_chunks, int) or n_chunks < 1:
        raise ValueError(f"n_chunks must be a whole number of at least 1, not {n_chunks!r}.")
    chunks, start = [], 0
    for size in workloads.split_evenly(len(docs), n_chunks):
        chunks.append(list(docs[start : start + size]))
        start += size
    return chunks


def merge_counts(parts: Sequence[Mapping[str, int]]) -> Counter:
    """Add up the counts of several chunks into one Counter."""
    total: Counter = Counter()
    for part in parts:
        total.update(part)
    return total


# --------------------------------------------------------------------------- a job


@dataclass
class Job:
    """One capstone job: the documents, how they were made, and (once computed) the right answer."""

    seed: int
    n_docs: int
    words_per_doc: int
    docs: list[str] = field(repr=False)
    _answer: Counter | None = field(default=None, repr=False)
    serial_times: list[float] = field(default_factory=list, repr=False)

    @property
    def n_words(self) -> int:
        return self.n_docs * self.words_per_doc

    def answer(self) -> Counter:
        """The correct counts, computed serially (once) and timed."""
        if self._answer is None:
            t0 = time.perf_counter()
            self._answer = count_words(self.docs)
            self.serial_times.append(time.perf_counter() - t0)
        return self._answer

    def __str__(self) -> str:
        size = sum(map(len, self.docs)) / 1024**2
        return (f"{self.n_docs:,} documents x {self.words_per_doc} words = {self.n_words:,} words "
                f"({size:.1f} MB of text), seed {self.seed}")


def make_job(seconds: float = 1.0, seed: int = 2024, words_per_doc: int = 200) -> Job:
    """A job sized so that counting it serially takes about ``seconds`` here (a quarter in quick mode).

    A small sample is timed first (warm-up, then the median of three runs); the
    number of documents is chosen from it.
    """
    workloads.check_seconds(seconds)
    sample = make_corpus(200, words_per_doc, seed)
    count_words(sample)  # warm-up
    per_doc = max(statistics.median(time_runs(lambda: count_words(sample), 3)) / len(sample), 1e-7)
    n_docs = int(min(MAX_DOCS, max(50, workloads.scaled_seconds(seconds) / per_doc)))
    return Job(seed, n_docs, words_per_doc, make_corpus(n_docs, words_per_doc, seed))


# --------------------------------------------------------------------------- reference solutions


def count_serially(docs: Sequence[str]) -> Counter:
    """Reference: one worker counts everything."""
    return count_words(docs)


def count_with_threads(docs: Sequence[str], n_workers: int = 2) -> Counter:
    """Reference: one chunk per thread in a ThreadPoolExecutor, then merge."""
    launch.check_worker_count(n_workers)
    with ThreadPoolExecutor(max_workers=n_workers) as pool:
        parts = list(pool.map(count_words, split_into_chunks(docs, n_workers)))
    return merge_counts(parts)


def count_with_processes(docs: Sequence[str], n_workers: int = 2,
                         start_method: str | None = None) -> Counter:
    """Reference: one chunk per process in a ProcessPoolExecutor (course start method), then merge.

    The pool is started inside, so its start-up cost is part of the time -- as
    it is in any program that runs the job once.
    """
    with pools.open_pool("processes", n_workers, start_method) as pool:
        parts = list(pool.map(count_words, split_into_chunks(docs, n_workers),
                              timeout=pools.DEFAULT_TIMEOUT))
    return merge_counts(parts)


def count_with_dask(client, docs: Sequence[str], n_chunks: int = 2,
                    timeout: float = 60.0) -> Counter:
    """Reference: send the chunks to the Dask workers (``scatter``), count there, gather and merge.

    ``client`` is a ``distributed.Client`` (or a :class:`helpers.scaleout.DaskConnection`).
    ``scatter`` spreads the chunks over the workers, one piece of data per chunk,
    sent straight to the workers (``direct=True``) instead of through the
    scheduler; each count then runs on the worker that already holds its chunk.
    """
    from distributed import wait

    client = getattr(client, "client", client)
    launch.check_worker_count(n_chunks)
    remote = client.scatter(split_into_chunks(docs, n_chunks), hash=False, direct=True)
    futures = [client.submit(count_words, chunk, pure=False) for chunk in remote]
    if wait(futures, timeout=timeout).not_done:
        client.cancel(futures)
        raise TimeoutError(f"the Dask tasks did not finish within {timeout:g} s")
    return merge_counts(client.gather(futures, errors="raise"))


# --------------------------------------------------------------------------- checks


def check_result(result: object, job: Job) -> Feedback:
    """Is ``result`` the right word count for ``job``? Prints and returns the verdict, with a hint."""
    answer = job.answer()
    if result is None or result is Ellipsis:
        verdict = Feedback(False, "Replace the ... with your code, then run the cell again.")
    elif not isinstance(result, Mapping):
        verdict = Feedback(False, f"Return the counts as a Counter (word -> how many times), not "
                                  f"{type(result).__name__}. merge_counts(parts) builds one.")
    elif Counter(result) == answer:
        verdict = Feedback(True, f"all {len(answer):,} distinct words and {answer.total():,} "
                                 f"words counted exactly right.")
    else:
        got = sum(v for v in result.values() if isinstance(v, int))
        expected = answer.total()
        if got < expected:
            hint = (f"You counted {got:,} words, the corpus has {expected:,}. Did every chunk get "
                    f"counted, and did you merge the counts of all chunks (merge_counts)?")
        elif got > expected:
            hint = (f"You counted {got:,} words, the corpus has only {expected:,}: some documents "
                    f"were counted more than once. Do your chunks overlap?")
        else:
            hint = ("The total is right but some words differ. Count with capstone.count_words, "
                    "which normalises every word the same way.")
        verdict = Feedback(False, hint)
    print(verdict)
    return verdict


@dataclass
class Timings:
    """Repeated wall times of the serial job and of each parallel method, on this machine."""

    n_workers: int
    times: dict[str, list[float]] = field(default_factory=dict)
    #: The reference solutions as calls, so a check can time them again next to yours.
    runs: dict[str, Callable[[], object]] = field(default_factory=dict, repr=False, compare=False)

    def median(self, method: str) -> float:
        return statistics.median(self.times[method])

    def speedup(self, method: str) -> float:
        """Median serial time / median time of ``method``."""
        return self.median("serial") / self.median(method)

    def table(self) -> str:
        rows = [f"{'method':<10} {'median s':>9} {'min s':>7} {'max s':>7} {'speedup':>8}"]
        for method, times in self.times.items():
            rows.append(f"{method:<10} {statistics.median(times):>9.3f} {min(times):>7.3f} "
                        f"{max(times):>7.3f} {self.speedup(method):>7.2f}x")
        return "\n".join(rows)

    def __str__(self) -> str:
        return f"Capstone with {self.n_workers} workers\n{self.table()}"


def time_runs(fn: Callable[[], object], repeats: int = 3) -> list[float]:
    """Call ``fn()`` ``repeats`` times and return the wall time of each call (s)."""
    if isinstance(repeats, bool) or not isinstance(repeats, int) or not 1 <= repeats <= 50:
        raise ValueError(f"repeats must be a whole number from 1 to 50, not {repeats!r}.")
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def reference_timings(job: Job, client=None, n_workers: int = 2, repeats: int = 3) -> Timings:
    """Time the serial job and the reference solutions (threads, processes, and Dask if ``client``).

    Each result is also checked against the right answer, so a fast wrong
    answer can never count. Every run of the serial, thread and process
    versions is complete in itself (a process pool is started inside), so the
    checked first run is also the first timed one; Dask gets one untimed
    warm-up run, in which its workers load the counting code. The remaining
    repeats are taken in turn (serial, threads, processes, Dask, serial, ...).
    """
    launch.check_worker_count(n_workers)
    if isinstance(repeats, bool) or not isinstance(repeats, int) or not 1 <= repeats <= 50:
        raise ValueError(f"repeats must be a whole number from 1 to 50, not {repeats!r}.")
    answer = job.answer()
    runs: dict[str, Callable[[], Counter]] = {
        "serial": lambda: count_serially(job.docs),
        "threads": lambda: count_with_threads(job.docs, n_workers),
        "processes": lambda: count_with_processes(job.docs, n_workers),
    }
    if client is not None:
        runs["dask"] = lambda: count_with_dask(client, job.docs, n_workers)
    result = Timings(n_workers, runs=runs)
    for method, run in runs.items():
        t0 = time.perf_counter()
        if run() != answer:  # proof that the method is right
            raise RuntimeError(f"the reference {method} solution gave a wrong answer")
        result.times[method] = [] if method == "dask" else [time.perf_counter() - t0]
    for _ in range(repeats):  # the other repeats take turns, so a busy minute hits all methods
        for method, run in runs.items():
            if len(result.times[method]) < repeats:
                result.times[method] += time_runs(run, 1)
    return result


def check_speedup(method: str, my_times: Sequence[float] | float, reference: Timings,
                  margin: float = 0.75, reference_times: Sequence[float] | None = None) -> Feedback:
    """Compare your ``method``'s speedup with the reference solution's, on the same machine.

    ``my_times`` are your measured wall times (s). Your speedup is the
    reference's median serial time divided by your median. It counts as good if
    it reaches ``margin`` (75 %) of the reference speedup -- timings on a shared
    machine wobble, so an exact match is not expected. ``reference_times``, if
    given, are the reference solution's times measured just now, in turn with
    yours (fairer on a busy machine); otherwise those in ``reference`` are used.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}.")
    if method not in reference.times:
        raise ValueError(f"The reference has no timing for {method!r}: run reference_timings "
                         f"with a Dask client to compare Dask.")
    if isinstance(my_times, (int, float)) and not isinstance(my_times, bool):
        my_times = [my_times]
    if not my_times or not all(isinstance(t, (int, float)) and t > 0 for t in my_times):
        verdict = Feedback(False, "Give your measured wall times in seconds, e.g. "
                                  "capstone.time_runs(lambda: my_function(job.docs)).")
        print(verdict)
        return verdict
    serial = reference.median("serial")
    mine = serial / statistics.median(my_times)
    if reference_times:
        ref = serial / statistics.median(reference_times)
        which = "timed in turn with yours"
    else:
        ref = reference.speedup(method)
        which = "timed before"
    text = (f"your {method} version: {mine:.2f}x the serial speed; the reference {method} "
            f"solution, {which}: {ref:.2f}x (with {reference.n_workers} workers, "
            f"{system.usable_cpus()} usable CPU(s)).")
    if mine >= margin * ref:
        verdict = Feedback(True, text[0].upper() + text[1:])
    else:
        verdict = Feedback(False, text[0].upper() + text[1:] + " Yours is clearly slower: does it give "
                           "every worker one big chunk, and start the pool only once?")
    print(verdict)
    return verdict


def check_solution(method: str, fn: Callable[[Sequence[str]], object], job: Job,
                   reference: Timings, repeats: int = 3) -> Feedback:
    """Check your ``fn(docs)`` for ``method``: first its result, then (only if right) its speedup.

    Runs ``fn(job.docs)`` once, timed, and checks the counts (:func:`check_result`).
    A wrong answer stops here: being fast does not count. A right one is run
    ``repeats`` times in all, taking turns with the reference solution (so a
    busy moment of the machine slows both), and compared (:func:`check_speedup`).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}.")
    if not callable(fn):
        raise TypeError(f"Pass your function itself (e.g. count_threads), not {fn!r}.")
    if isinstance(repeats, bool) or not isinstance(repeats, int) or not 1 <= repeats <= 50:
        raise ValueError(f"repeats must be a whole number from 1 to 50, not {repeats!r}.")
    t0 = time.perf_counter()
    result = fn(job.docs)
    my_times = [time.perf_counter() - t0]
    verdict = check_result(result, job)
    if not verdict:
        return verdict
    run_reference = reference.runs.get(method)
    reference_times = []
    for i in range(repeats):
        if run_reference is not None:
            reference_times += time_runs(run_reference, 1)
        if i > 0:
            my_times += time_runs(lambda: fn(job.docs), 1)
    return check_speedup(method, my_times, reference, reference_times=reference_times or None)


def draw_timings(ax, timings: Timings) -> None:
    """Draw each method's speedup over serial: a bar for the median, a line for the min-max spread."""
    from .plots import COLORS, color_for

    methods = [m for m in timings.times if m != "serial"]
    serial = timings.median("serial")
    for i, method in enumerate(methods):
        times = timings.times[method]
        s = timings.speedup(method)
        ax.bar(i, s, color=color_for(method), width=0.6)
        ax.plot([i, i], [serial / max(times), serial / min(times)], color="black", lw=2)
        ax.annotate(f"{s:.2f}x", (i, serial / min(times)), ha="center", va="bottom",
                    xytext=(0, 3), textcoords="offset points")
    ceiling = min(timings.n_workers, system.usable_cpus())
    ax.axhline(1.0, color=COLORS["ideal"], ls="--", lw=1, label="serial speed (1x)")
    ax.axhline(ceiling, color=COLORS["ceiling"], lw=6, alpha=0.25,
               label=f"ceiling: {ceiling}x ({timings.n_workers} workers, "
                     f"{system.usable_cpus()} usable CPU(s))")
    ax.set_xticks(range(len(methods)), methods)
    ax.set_ylabel("speedup over serial (times faster)")
    ax.set_ylim(0, max([ceiling + 0.5] + [serial / min(timings.times[m]) + 0.5 for m in methods]))
    ax.set_title("Capstone reference solutions: median speedup, min-max line")
    ax.legend(fontsize="small", loc="upper right")


def summary(timings: Timings, job: Job, process_start_s: float | None = None,
            pipe_s_per_mb: float | None = None, scatter_s_per_mb: float | None = None) -> str:
    """What the reference timings say, in sentences built from the numbers measured here.

    The optional costs, measured earlier on this machine (see :mod:`helpers.decision`),
    let it estimate the fixed costs of each method and so tell "the job is too
    small" apart from "other programs were busy":

    - ``process_start_s``: starting one worker process (``m.startup_s[m.start_method]``);
    - ``pipe_s_per_mb``: sending 1 MB to a process (``m.handover_s["process, pipe"] / m.handover_mb``);
    - ``scatter_s_per_mb``: sending 1 MB to a Dask worker (from :func:`helpers.scaleout.scatter_times`).
    """
    from .decision import GAIN

    serial = timings.median("serial")
    cpus = system.usable_cpus()
    ceiling = min(timings.n_workers, cpus)
    mb = sum(map(len, job.docs)) / 1024**2
    methods = sorted((m for m in timings.times if m != "serial"), key=timings.speedup, reverse=True)
    lines = [f"Serial: {serial:.2f} s for {job.n_words:,} words ({mb:.1f} MB of text). "
             f"Speedups, best first: "
             + ", ".join(f"{m} {timings.speedup(m):.2f}x" for m in methods)
             + f" (ceiling {ceiling}x: {timings.n_workers} workers, {cpus} usable CPU(s))."]
    if "threads" in timings.times:
        s = timings.speedup("threads")
        if system.gil_enabled():
            lines.append(f"Threads {s:.2f}x: with the GIL on they take turns counting, so about "
                         f"1x is all they can do; the difference from 1x is timing wobble.")
        else:
            lines.append(f"Threads {s:.2f}x: this Python runs without a GIL, so threads can "
                         f"count at the same time.")
    if cpus == 1:
        lines.append("With 1 usable CPU nothing runs at the same time: processes and Dask can "
                     "only add their costs to the serial time, and any reading above 1x is "
                     "timing wobble.")

    def verdict(name: str, costs: str, fixed: float | None) -> str:
        s, label = timings.speedup(name), name.capitalize()
        if fixed is None:
            if s >= GAIN:
                return f"{label} {s:.2f}x of a possible {ceiling}x: the rest goes to {costs}."
            return (f"{label} only {s:.2f}x: in a job this small ({serial:.2f} s serially) "
                    f"{costs} weigh heavily -- or other programs were busy: run the cell again.")
        best = serial / (serial / ceiling + fixed)
        text = (f"{label} {s:.2f}x. {costs[0].upper() + costs[1:]} cost up to about "
                f"{fixed * 1e3:.0f} ms per run (estimated from earlier measurements); with "
                f"that, about {best:.2f}x is what to expect")
        if s < 0.8 * best:
            return (text + ". It measured less: the rest of the loss most likely came from "
                    "other programs using the CPUs. Run the timing cell again.")
        if best < GAIN:
            return text + f": in a job this small ({serial:.2f} s serially) they eat most of the gain."
        return text + "."

    if "processes" in timings.times and cpus > 1:
        fixed = None
        if process_start_s is not None and pipe_s_per_mb is not None:
            # Counted as if the workers started one after the other: an upper estimate
            # (they partly overlap), so a loss is not blamed on other programs too soon.
            fixed = timings.n_workers * process_start_s + mb * pipe_s_per_mb
        costs = (f"starting {timings.n_workers} '{system.course_start_method()}' processes in "
                 f"every run and pickling {mb:.1f} MB of text to them")
        lines.append(verdict("processes", costs, fixed))
    if "dask" in timings.times:
        s = timings.speedup("dask")
        text = ("Dask's workers were already running, so it pays no start-up here, only "
                "sending the chunks (scatter) and the scheduler's bookkeeping per task.")
        if "processes" in timings.times and s > timings.speedup("processes"):
            text += " That is how it can beat the process pool, which starts its workers anew."
        lines.append(text)
        if cpus > 1:
            fixed = None if scatter_s_per_mb is None else mb * scatter_s_per_mb
            costs = f"sending {mb:.1f} MB of text to the Dask workers"
            lines.append(verdict("dask", costs, fixed))
    if cpus > 1 and max(timings.speedup("processes") if "processes" in timings.times else 0,
                        timings.speedup("dask") if "dask" in timings.times else 0) < GAIN:
        lines.append("Fixed costs weigh less in a bigger job: try job = capstone.make_job("
                     "seconds=4) and run the reference timings again.")
    if any(timings.speedup(m) > 1.1 * ceiling for m in methods):
        lines.append(f"A reading above the ceiling of {ceiling}x cannot be real: the serial runs "
                     f"were slowed by other programs. Run the timings again.")
    return "\n".join(lines)

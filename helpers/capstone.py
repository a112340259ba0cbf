"""The capstone job of lesson 07: a corpus of documents whose words you count in parallel.

The corpus is generated from a seed, so everyone with the same seed and size
gets exactly the same documents -- and the same right answer::

    from helpers import capstone
    job = capstone.make_job(seconds=1.0)     # about 1 s of serial counting here
    job.answer()                             # the right counts (a Counter), computed once

The counting itself is plain code in ``notebooks/workers/lesson07.py``
(``count_words``, ``split_into_chunks``), so process pools and Dask workers can
import it. Checking a learner's solution is in :mod:`helpers.checks.lesson07`.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from dataclasses import dataclass, field

from . import workloads
from .validation import validate_int

__all__ = ["Job", "make_corpus", "make_job", "vocabulary", "MAX_DOCS"]

#: The most documents a job may have (keeps memory far below Binder's 2 GB).
MAX_DOCS = 200_000


def _count_words():
    """The worker's counting function (``workers.lesson07.count_words``)."""
    from workers.lesson07 import count_words

    return count_words


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

    validate_int(n_docs, "n_docs", 1, MAX_DOCS)
    validate_int(words_per_doc, "words_per_doc", 1, 10_000)
    validate_int(seed, "seed", 0)
    words = np.array(vocabulary())
    styled = np.array([w.capitalize() for w in words])
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, len(words) + 1)
    picks = rng.choice(len(words), size=(n_docs, words_per_doc), p=weights / weights.sum())
    capital = rng.random((n_docs, words_per_doc)) < 0.1
    marks = rng.choice(["", "", "", "", "", ",", ".", "!"], size=(n_docs, words_per_doc))
    tokens = np.char.add(np.where(capital, styled[picks], words[picks]), marks)
    return [" ".join(row) for row in tokens.tolist()]


@dataclass
class Job:
    """One capstone job: the documents, how they were made, and (once computed) the right answer."""

    seed: int
    words_per_doc: int
    docs: list[str] = field(repr=False)
    _answer: Counter | None = field(default=None, repr=False)
    #: Wall times (s) of counting the whole corpus serially, one per :meth:`time_serial`.
    serial_times: list[float] = field(default_factory=list, repr=False)

    @property
    def n_docs(self) -> int:
        return len(self.docs)

    @property
    def n_words(self) -> int:
        return self.n_docs * self.words_per_doc

    def time_serial(self) -> float:
        """Count the whole corpus in this thread, once; keep the answer and the time."""
        t0 = time.perf_counter()
        counts = _count_words()(self.docs)
        seconds = time.perf_counter() - t0
        self.serial_times.append(seconds)
        if self._answer is None:
            self._answer = counts
        return seconds

    def answer(self) -> Counter:
        """The correct counts, computed serially (once)."""
        if self._answer is None:
            self.time_serial()
        return self._answer

    def __str__(self) -> str:
        size = sum(map(len, self.docs)) / 1024**2
        return (f"{self.n_docs:,} documents x {self.words_per_doc} words = {self.n_words:,} words "
                f"({size:.1f} MB of text), seed {self.seed}")


def make_job(seconds: float = 1.0, seed: int = 2024, words_per_doc: int = 200) -> Job:
    """A job sized so that counting it serially takes about ``seconds`` here (a quarter in quick mode).

    A sample of 200 documents is timed first (a warm-up, then the median of three
    runs); the number of documents is chosen from it.
    """
    workloads.validate_work_seconds(seconds)
    count_words = _count_words()
    sample = make_corpus(200, words_per_doc, seed)
    count_words(sample)  # warm-up
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        count_words(sample)
        runs.append(time.perf_counter() - t0)
    per_doc = max(statistics.median(runs) / len(sample), 1e-7)
    n_docs = int(min(MAX_DOCS, max(50, workloads.scaled_seconds(seconds) / per_doc)))
    return Job(seed, words_per_doc, make_corpus(n_docs, words_per_doc, seed))

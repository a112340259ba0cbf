"""Worker functions for lesson 07: what the process pools and Dask workers run.

Why a file and not a notebook cell? A process pool with the ``spawn`` or
``forkserver`` start method starts each worker as a fresh Python, which finds
the function it should run by *name*: ``workers.lesson07.busy``. A function
typed into a notebook cell lives in the kernel's ``__main__`` and has no such
name, so the worker cannot find it. (Dask is different: it sends the function's
code itself, with cloudpickle -- see the lesson.)

Plain Python, no course machinery. Edit freely, then restart the kernel.
"""

import time
from collections import Counter


def square(x):
    """x * x: a task so small that sending it to a process costs more than doing it."""
    return x * x


def busy(n):
    """Pure-Python arithmetic, n loop turns: CPU-bound work that holds the GIL."""
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


def wait(seconds):
    """Only wait, like a download waiting for a server: I/O-bound work that needs no CPU."""
    time.sleep(seconds)
    return seconds


# ----------------------------------------------------------------- the capstone job

PUNCTUATION = ".,;:!?\"'()"
SUFFIXES = ("ing", "ed", "es", "s")


def normalise(word):
    """The form a word is counted under: no punctuation, lower case, common ending cut off."""
    word = word.strip(PUNCTUATION).lower()
    for suffix in SUFFIXES:
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            return word[: -len(suffix)]
    return word


def count_words(docs):
    """Count every normalised word in a list of documents (strings). Returns a Counter."""
    counts = Counter()
    for doc in docs:
        for word in doc.split():
            word = normalise(word)
            if word:
                counts[word] += 1
    return counts


def split_into_chunks(items, n_chunks):
    """Cut a list into n_chunks consecutive pieces whose lengths differ by at most one."""
    size, extra = divmod(len(items), n_chunks)
    chunks, start = [], 0
    for i in range(n_chunks):
        stop = start + size + (1 if i < extra else 0)
        chunks.append(items[start:stop])
        start = stop
    return chunks


"""Process targets for lesson 06 (synchronization tools).

A child process started with ``spawn`` or ``forkserver`` begins with a fresh
Python that cannot see the notebook's cells: it imports its target by module
name (``workers.lesson06.consumer``). That is why these functions live in a
file. Plain Python, no course machinery: read them, edit them, restart the
kernel to see your change.
"""

import queue

#: One of these per consumer tells it "no more work" (a sentinel, or "poison pill").
#: ``None`` survives the trip through a process queue (``item is None`` stays true).
SENTINEL = None


def consumer(tasks, results, name, timeout=10.0):
    """Take numbers from ``tasks`` and put ``(name, number, number squared)`` on ``results``.

    Stops when it takes the SENTINEL out of ``tasks``. Every ``get`` has a
    timeout, so a producer that died cannot leave this process waiting forever.
    """
    while True:
        try:
            item = tasks.get(timeout=timeout)
        except queue.Empty:
            return  # nobody is producing any more: give up instead of hanging
        if item is SENTINEL:
            return
        results.put((name, item, item * item))


def locked_increments(lock, counter, times, me):
    """Add 1 to ``counter[0]`` ``times`` times, each time holding ``lock``.

    ``counter`` is a list (threads) or a shared ``multiprocessing.Array``
    (processes). ``counter[1]`` remembers which worker (``me``) held the lock
    last and ``counter[2]`` counts *hand-overs*: the times the lock went to a
    different worker than the one before.
    """
    for _ in range(times):
        with lock:
            counter[0] += 1
            if counter[1] != me:  # the lock came from another worker
                counter[1] = me
                counter[2] += 1

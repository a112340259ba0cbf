"""Process targets for lesson 05 (synchronization hazards).

A child process started with ``spawn`` or ``forkserver`` begins with a fresh
Python that cannot see the notebook's cells: it imports its target by module
name (``workers.lesson05.add_many``). That is why these functions live in a
file. Plain Python, no course machinery: read them, edit them, restart the
kernel to see your change.
"""


def add_many(value, times, start):
    """Add 1 to the shared integer ``value`` ``times`` times, with no protection.

    ``value`` is a ``multiprocessing.Value('i')``: one C integer in shared memory
    that every process can read and write. ``value.value += 1`` is three steps:
    read the integer, add 1, write it back. Another process can write in between.

    ``start`` is a ``multiprocessing.Barrier``: every worker waits there until
    all have started, so they really run at the same time (a spawned child takes
    tens of milliseconds to start; without the barrier the first one could be done
    before the second begins).
    """
    start.wait(timeout=30)
    for _ in range(times):
        value.value += 1


def add_many_locked(value, times, start):
    """The same, but the read, the add and the write happen while holding the Value's lock.

    Only for ``Value(..., lock=True)`` (the default): ``get_lock()`` is the lock
    that comes with it. Holding it across all three steps makes them one step
    for every other process that also takes the lock.
    """
    start.wait(timeout=30)
    for _ in range(times):
        with value.get_lock():
            value.value += 1

"""Process targets for lesson 02 (cores, pinning, SMP vs AMP).

A child process started with ``spawn`` or ``forkserver`` imports its target by
name -- ``workers.lesson02.spin`` -- so these functions live in a file, not in a
notebook cell. Plain Python: no course machinery. Every wait has a timeout, so
a child can never wait forever.
"""

import time


def spin(turns, go=None, report=None):
    """Pure-Python CPU work: ``turns`` turns of a small loop (it keeps one core busy).

    ``go`` (optional, an Event): wait for it first, so that the parent can pin
    the process and start several of them at the same moment.
    ``report`` (optional, a Queue): put ``(start, end)`` on it when done, so the
    parent can time the work itself without the process start-up.
    """
    if go is not None:
        go.wait(timeout=30)
    start = time.perf_counter()
    total = 0
    for i in range(turns):
        total += i * i % 7
    if report is not None:
        report.put((start, time.perf_counter()))
    return total


def worker_loop(worker, inbox, results, ready=None):
    """A worker: take tasks from ``inbox`` until it takes the sentinel ``None``.

    A task is ``(task_id, turns)``. For each one the worker spins, then puts
    ``(worker, task_id, start, end)`` on ``results``.

    SMP-style, every worker gets the SAME ``inbox``: whoever is free takes the
    next task. AMP-style, each worker has its OWN inbox, filled by a master.
    ``ready`` (optional, a Barrier): wait there first, so that no worker starts
    before all are ready.
    """
    if ready is not None:
        ready.wait(timeout=30)
    while True:
        task = inbox.get(timeout=30)  # never wait forever for work
        if task is None:  # the sentinel: no more work for me
            break
        task_id, turns = task
        start = time.perf_counter()
        spin(turns)
        results.put((worker, task_id, start, time.perf_counter()))


def master(tasks, inboxes, ready=None):
    """The AMP master: it alone decides which worker runs each task.

    Fixed roles, decided in advance: task ``i`` goes to worker ``i % n`` (into
    that worker's own queue). Then one sentinel per worker. The master itself
    computes nothing.
    """
    if ready is not None:
        ready.wait(timeout=30)
    for i, task in enumerate(tasks):
        inboxes[i % len(inboxes)].put(task)
    for inbox in inboxes:
        inbox.put(None)

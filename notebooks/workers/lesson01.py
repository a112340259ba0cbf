"""What the child processes of lesson 01 run.

Why a file and not a notebook cell? A child process started with ``spawn`` or
``forkserver`` is a fresh Python: it receives the *name* of its target
(``workers.lesson01.report_ids``), imports that module and looks the function up.
A function typed into a notebook cell lives in the module ``__main__`` of the
notebook's kernel, which the child cannot import. (Under ``fork`` the child is a
copy of the notebook and would find it, but the course runs under all three.)

Threads need none of this: they run inside the notebook's own process, so a
thread's target can be defined right in the cell.

Every function here is plain Python. Edit them if you like, then restart the
kernel (or ``importlib.reload(w)``) so the notebook and its children use your version.
"""

import gc
import os
import threading
import time

#: A lock at module level. Lesson 01 holds it in a thread of the notebook and asks a
#: child whether it can take it (see :func:`try_lock`).
LOCK = threading.Lock()


def report_ids(q, pause=0.1):
    """Wait ``pause`` seconds (pretend to work), then put (pid, thread id, parent pid) on ``q``.

    A child process cannot *return* a value to its parent: the parent never
    calls the function. It has to send it, here through a multiprocessing Queue.
    """
    time.sleep(pause)
    q.put((os.getpid(), threading.get_native_id(), os.getppid()))


def add_item(items, item, pause=0.1, report=None):
    """Wait ``pause`` seconds, then append ``item`` to the list ``items``.

    In a thread, ``items`` is the notebook's own list. In a child process it is
    the child's copy (inherited under fork, unpickled under spawn/forkserver).
    If ``report`` (a multiprocessing Queue) is given, send a copy of the list as
    this worker sees it afterwards.
    """
    time.sleep(pause)
    items.append(item)
    if report is not None:
        report.put(list(items))


def nothing():
    """Do nothing at all: the target for measuring what creating a worker costs."""


def try_lock(q, wait=0.5):
    """Put (could this process take LOCK within ``wait`` s?, how many threads it has) on ``q``."""
    got_it = LOCK.acquire(timeout=wait)
    if got_it:
        LOCK.release()
    q.put((got_it, threading.active_count()))


def wait_until(ready, stop, timeout=30.0):
    """Say "ready" (put this PID on the queue ``ready``), then idle until ``stop`` is set.

    It ends by itself after ``timeout`` seconds if nobody sets ``stop``.
    """
    ready.put(os.getpid())
    stop.wait(timeout)


def obey(items, conn, timeout=30.0):
    """A child for the copy-on-write experiment: hold ``items`` and obey commands from ``conn``.

    Commands: ``"nothing"``; ``"read"`` -- read every item (``item[0]`` of each);
    ``"collect"`` -- run the garbage collector. The child answers "done" after
    each, and ends on any other command or after ``timeout`` s of silence.
    """
    conn.send("ready")
    while conn.poll(timeout):
        command = conn.recv()
        if command == "read":
            total = 0
            for item in items:  # only reads, but each item's reference count goes up and down
                total += item[0]
        elif command == "collect":
            gc.collect()
        elif command != "nothing":
            break
        conn.send("done")
    conn.close()

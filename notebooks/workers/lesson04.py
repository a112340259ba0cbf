"""Process targets for lesson 04 (sharing data): plain Python, no course machinery.

They live in a file, not in a notebook cell, because a child process started with
``spawn`` or ``forkserver`` is a fresh Python: it imports its target by module
name (``workers.lesson04.pipe_echo``) and cannot see functions typed into cells.

Every wait below has a timeout (``PATIENCE``): a worker whose parent forgot to
say "stop" gives up after that long instead of waiting forever.
"""

import os
import queue
import secrets
import sys
import time
from multiprocessing import shared_memory

import numpy as np

#: A worker that hears nothing for this many seconds stops by itself.
PATIENCE = 60.0


def course_name():
    """A fresh shared-memory block name: 'course_<pid>_<8 hex digits>' (the course's prefix)."""
    return f"course_{os.getpid()}_{secrets.token_hex(4)}"


# ---------------------------------------------------------------- separate memories


def add_in_child(numbers, amount, conn):
    """Add ``amount`` to every element of ``numbers`` -- the child's own copy -- and report its sum.

    ``conn`` is one end of a ``Pipe``: the only way the parent hears what the child saw.
    """
    numbers += amount
    conn.send(float(numbers.sum()))
    conn.close()


# ---------------------------------------------------------------- messages: Pipe and Queue


def pipe_echo(conn):
    """Answer every message from ``conn`` with (its length, its last item); stop at None."""
    while conn.poll(PATIENCE):          # wait for a message, at most PATIENCE seconds
        message = conn.recv()           # unpickles what the parent sent: a copy
        if message is None:             # the stop message
            break
        conn.send((len(message), int(message[-1])))


def queue_echo(inbox, outbox):
    """The same with two queues: take from ``inbox``, answer on ``outbox``; stop at None.

    Works with ``multiprocessing`` queues, a Manager's queues and ``queue.Queue``.
    """
    while True:
        try:
            message = inbox.get(timeout=PATIENCE)
        except queue.Empty:
            break
        if message is None:
            break
        outbox.put((len(message), int(message[-1])))


# ---------------------------------------------------------------- shared memory


def count_and_fill(counter, numbers):
    """Add 1 to a shared ``Value`` (under its lock) and write squares into a shared ``Array``."""
    with counter.get_lock():            # += on a Value is read-then-write: guard the pair
        counter.value += 1
    for i in range(len(numbers)):
        numbers[i] = i * i


def sign_in(book, key):
    """Write into a ``Manager().dict()``: each access is a message to the manager's process."""
    book[key] = os.getpid()


def attach(name):
    """Open the existing block ``name`` without handing it to this process's resource tracker."""
    if sys.version_info >= (3, 13):     # the block belongs to the parent: it unlinks it
        return shared_memory.SharedMemory(name=name, track=False)
    return shared_memory.SharedMemory(name=name)


def fill_shared(name, n, value):
    """Attach to block ``name``, see it as ``n`` float64 numbers, set them all to ``value``."""
    shm = attach(name)
    view = np.ndarray((n,), dtype=np.float64, buffer=shm.buf)
    try:
        view[:] = value
    finally:
        del view                        # drop the view first: NumPy must not outlive close()
        shm.close()                     # close our mapping; only the creator unlinks


def fill_part(name, n, start, stop):
    """Exercise 1: write i*i into places ``start`` to ``stop`` (not included) of block ``name``."""
    shm = attach(name)
    view = np.ndarray((n,), dtype=np.float64, buffer=shm.buf)
    try:
        time.sleep(0.2)                 # pretend this is real work
        part = np.arange(start, stop, dtype=np.float64)
        view[start:stop] = part * part
    finally:
        del view
        shm.close()


def array_echo(conn, shared):
    """Receive a byte count on ``conn``; read that many bytes from the shared ``Array``; answer."""
    data = np.frombuffer(shared, dtype=np.uint8)    # a view: no copy
    while conn.poll(PATIENCE):
        n = conn.recv()
        if n is None:
            break
        conn.send((n, int(data[n - 1])))


def shm_echo(conn, name):
    """The same for a ``SharedMemory`` block called ``name``."""
    shm = attach(name)
    data = np.ndarray((shm.size,), dtype=np.uint8, buffer=shm.buf)
    try:
        while conn.poll(PATIENCE):
            n = conn.recv()
            if n is None:
                break
            conn.send((n, int(data[n - 1])))
    finally:
        del data
        shm.close()


# ---------------------------------------------------------------- exercise 2: request and reply


def square_server(conn):
    """Answer each job (a number) on ``conn`` with its square; stop at None."""
    while conn.poll(PATIENCE):
        job = conn.recv()
        if job is None:
            break
        conn.send(job * job)


def slow_square_server(conn, slow_job=13, delay=2.0):
    """Like :func:`square_server`, but job ``slow_job`` takes ``delay`` seconds to answer."""
    while conn.poll(PATIENCE):
        job = conn.recv()
        if job is None:
            break
        if job == slow_job:
            time.sleep(delay)
        conn.send(job * job)

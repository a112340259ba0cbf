"""Process targets for 00 · Welcome: the first worker processes of the course.

A child process started with ``spawn`` or ``forkserver`` imports this file by
name, which is why the function is here and not in a notebook cell.
"""

import os
import threading


def report_ids(name, results):
    """Put this worker's name, process id and thread id on the ``results`` queue."""
    results.put((name, os.getpid(), threading.get_native_id()))

"""Process targets for lesson 03 (speedup and the GIL).

Why this file exists: a process started with ``spawn`` or ``forkserver`` is a
fresh Python. It gets its target *by name* -- "function ``spin`` of module
``workers.lesson03``" -- and imports that module itself. A function typed into
a notebook cell lives in the kernel's ``__main__``, which the child does not
have, so it could not find it. (Under ``fork`` the child is a copy of the
kernel and would find it; on macOS and Windows there is no ``fork``.)

The kernel's working directory is ``notebooks/``, so ``import workers.lesson03``
works there, and spawned children inherit that path.

Edit freely; after an edit, restart the kernel (or ``importlib.reload``) so
that the notebook and new processes see your version.
"""


def spin(steps):
    """Pure-Python arithmetic: ``steps`` loop turns. Holds the GIL the whole time.

    The same function as the thread target in the notebook's first experiment.
    Returns a number that depends on every step, so the work cannot be skipped.
    """
    total = 0
    for i in range(steps):
        total += i * i % 7
    return total


def spin_into(results, index, steps):
    """Run ``spin(steps)`` and put ``(index, result)`` into the queue ``results``.

    A process cannot hand a return value back to its parent: its memory is its
    own. It sends the result through a ``multiprocessing`` queue instead, with
    its index so the parent can put the results back in order.
    """
    results.put((index, spin(steps)))


def spin_more(steps, times):
    """``spin(steps)`` repeated ``times`` times: a job that grows (for weak scaling)."""
    return sum(spin(steps) for _ in range(times))


def numpy_job(size, repeats):
    """NumPy math on an array of ``size`` numbers, ``repeats`` times.

    NumPy lets go of the GIL inside each ``np.sin``/``np.sqrt`` call, but the
    Python lines between the calls need it: the smaller the array, the larger
    the share of the time spent holding the GIL.
    """
    import numpy as np

    a = np.linspace(0.0, 1.0, size)
    out = np.empty_like(a)
    total = 0.0
    for _ in range(repeats):
        np.sin(a, out=out)
        np.sqrt(out, out=out)
        total += float(out[-1])
    return total

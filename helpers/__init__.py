"""Instruments for the course *Multiprocessing vs multithreading*.

The concurrency code the course teaches -- threads, processes, locks, queues,
pools -- is written in the notebook cells (process targets in
``notebooks/workers/``). This package holds the instruments around that code,
one concept per module::

    from helpers import system, measure, plots
    from helpers.safety import watch

- ``system``     -- what this computer offers: CPUs you may really use, memory,
                    start methods, whether the GIL is on.
- ``workloads``  -- calibrated jobs sized in seconds (CPU-bound Python, NumPy, waiting).
- ``launch``     -- the one runner behind the measuring instruments: N real threads or
                    processes on a job, one record per worker (pid, tid, times, cores).
- ``measure``    -- honest timing: warm-up, repeats in turn, medians, spread, sweeps,
                    speedup, Amdahl and Gustafson, creation cost.
- ``plots``      -- speedup curves and per-worker timelines, also live.
- ``safety``     -- ``watch(timeout)``: nothing you start hangs or is left running; a
                    stuck thread is named with the line it waits on.
- ``validation`` -- the one place that refuses bad input, before anything starts.
- ``checking``   -- runs a learner's function safely for the checkers in ``checks``.
- ``exercises``  -- feedback and quizzes; ``source`` -- show a function's code.
- ``progress``   -- a progress bar that appears when a run takes a while.

Lesson instruments (each lesson's checkers are in ``helpers.checks.lessonNN``):

- ``processes``, ``memory``             -- 01: OS thread ids, creation cost, footprint
- ``affinity``, ``smp_simulator``       -- 02: topology and placement; the SMP/AMP *simulator*
- ``panel``                             -- 03: the live speedup control panel
- ``sharing``                           -- 04: transfer cost of pipes, queues, shared memory
- ``hazards``, ``interleaving``,
  ``philosophers``, ``liveness``        -- 05: timing and graphs, the interleaving *model*,
                                           dining philosophers, starvation
- ``sync_tools``, ``lock_contention``   -- 06: drawings; the cost of a contended lock
- ``decision``, ``scaleout``,
  ``capstone``                          -- 07: the decision guide, Dask set-up, the capstone job

Importing ``helpers`` changes nothing global: no start method is set, no
matplotlib style is changed, nothing is launched.
"""

__version__ = "0.1.0"

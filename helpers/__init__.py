"""Machinery for the course *Multiprocessing vs multithreading*.

The notebooks import the pieces they need, one concept per module::

    from helpers import system, workloads, launch, measure, plots

- ``system``    -- what this computer offers: CPUs you may really use, memory,
                   start methods, whether the GIL is on.
- ``workloads`` -- jobs to run in parallel (CPU-bound Python, NumPy, waiting),
                   sized in seconds so they take the same time on any machine.
- ``launch``    -- start N real threads or N real processes on a job and get
                   one record per worker back (pid, thread id, times, cores).
- ``measure``   -- repeat runs honestly (warm-up, repeats, medians, spread)
                   and turn them into speedup and efficiency.
- ``plots``     -- speedup curves and per-worker timelines, also live.
- ``progress``  -- a progress bar that appears when a run takes a while.
- ``exercises`` -- immediate right/wrong feedback and small quizzes.

One module per lesson builds on these:

- ``processes``, ``memory``               -- lesson 01: identities, address spaces, footprint
- ``affinity``, ``scheduling``            -- lesson 02: pinning, SMP/AMP emulation and simulator
- ``panel``, ``speedup_exercises``        -- lesson 03: the live speedup control panel
- ``sharing``                             -- lesson 04: pipes, queues, shared memory
- ``hazards``, ``interleaving``,
  ``philosophers``, ``liveness``          -- lesson 05: races, deadlock, livelock, starvation
- ``sync_tools``, ``lock_contention``     -- lesson 06: locks, semaphores, queues; lock cost
- ``pools``, ``decision``, ``scaleout``,
  ``capstone``                            -- lesson 07: pools, choosing, Dask, capstone

Importing ``helpers`` changes nothing global: no start method is set, no
matplotlib style is changed, nothing is launched.
"""

__version__ = "0.1.0"

"""Instruments for lesson 02: which cores this machine has, and pictures of where processes ran.

The processes, the pinning (``os.sched_setaffinity``) and the sampling
(``psutil.Process(pid).cpu_num()``) are written in the notebook's cells; this
module only reads the topology, explains what a platform cannot do, and draws::

    from helpers import affinity
    affinity.topology()                 # [{'cpu': 0, 'core': 0, 'package': 0}, ...] on Linux
    affinity.unsupported_reason()       # '' where pinning works, else why not
    affinity.draw_core_samples(ax, samples)   # samples: (seconds, process name, core)
    affinity.draw_spread(ax, {"unpinned": [0.26, 0.27], "one CPU": [0.46, 0.5]})
    affinity.draw_task_runs(ax, results)      # results: (worker, task, start, end)
"""

from __future__ import annotations

import os
import platform
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["pinning_supported", "unsupported_reason", "topology", "draw_core_samples",
           "draw_spread", "draw_task_runs"]


def pinning_supported() -> bool:
    """True if this OS lets Python choose a process's cores (``os.sched_setaffinity``: Linux)."""
    return hasattr(os, "sched_setaffinity") and hasattr(os, "sched_getaffinity")


def unsupported_reason() -> str:
    """Why pinning is not available here, in plain words ('' if it is available)."""
    if pinning_supported():
        return ""
    name = platform.system()
    if name == "Darwin":
        return ("macOS does not let a program pin a process to a core: its scheduler always "
                "decides. The pinning cells run unpinned here; compare with a Linux machine "
                "(e.g. the course's Binder link).")
    if name == "Windows":
        return ("Python's os module has no sched_setaffinity on Windows (psutil's "
                "Process(pid).cpu_affinity([cpu]) can pin there). The pinning cells run "
                "unpinned here.")
    return f"{name} offers no os.sched_setaffinity to Python. The pinning cells run unpinned here."


def topology(root: str | Path = "/sys/devices/system/cpu") -> list[dict[str, int]] | None:
    """Which logical CPU sits on which physical core and chip (package), or None where unknown.

    Reads Linux's ``/sys/devices/system/cpu/cpuN/topology``. Two logical CPUs
    with the same ``core`` on the same ``package`` are hyperthreads (SMT
    siblings): they share one core's arithmetic units.
    """
    if isinstance(root, str) and not root or not isinstance(root, (str, Path)):
        raise (ValueError if root == "" else TypeError)(
            f"root must be a folder such as '/sys/devices/system/cpu'; got {root!r}.")
    rows = []
    for cpu_dir in sorted(Path(root).glob("cpu[0-9]*"), key=lambda p: int(p.name[3:])):
        try:
            core = int((cpu_dir / "topology" / "core_id").read_text())
            package = int((cpu_dir / "topology" / "physical_package_id").read_text())
        except (OSError, ValueError):
            continue
        rows.append({"cpu": int(cpu_dir.name[3:]), "core": core, "package": package})
    return rows or None


def draw_core_samples(ax, samples: Sequence[tuple[float, str, int]], every: float = 0.01) -> None:
    """One row per process; each look ``(seconds, name, core)`` drawn in that core's colour.

    A look is drawn up to the next look at the same process. A change of colour
    is the scheduler moving the process to another core.
    """
    from matplotlib.patches import Patch

    from .plots import CORE_COLORS

    names = list(dict.fromkeys(name for _, name, _ in samples))
    for row, name in enumerate(names):
        mine = [(t, core) for t, n, core in samples if n == name]
        ends = [t for t, _ in mine[1:]] + [mine[-1][0] + every]
        for (t, core), end in zip(mine, ends):
            ax.barh(row, end - t, left=t, height=0.6, lw=0,
                    color=CORE_COLORS[core % len(CORE_COLORS)])
    ax.set_yticks(range(len(names)), names, fontsize="small")
    ax.set_ylim(max(len(names), 1) - 0.5, -0.5)
    ax.set_xlabel("time since the first start (s)")
    ax.set_xlim(left=0)
    ax.grid(axis="x", alpha=0.3)
    cores = sorted({core for _, _, core in samples})
    if cores:
        ax.legend(handles=[Patch(color=CORE_COLORS[c % len(CORE_COLORS)], label=f"on CPU {c}")
                           for c in cores],
                  fontsize="x-small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    else:
        ax.text(0.5, 0.5, "this OS does not say which core a process is on", ha="center",
                transform=ax.transAxes)


def draw_spread(ax, measured: Mapping[str, Sequence[float]], unit: str = "s",
                what: str = "time") -> None:
    """Each named list of repeats: every repeat a dot, the median a bar, min-max a line."""
    from .plots import COLORS

    colour = COLORS["processes"]
    for row, times in enumerate(measured.values()):
        middle = statistics.median(times)
        ax.barh(row, middle, height=0.5, color=colour, alpha=0.35)
        ax.plot([min(times), max(times)], [row, row], color="black", lw=1)
        ax.plot(times, [row] * len(times), "o", color=colour, ms=5)
        ax.text(max(times), row, f"  median {middle:.3f} {unit}", va="center", fontsize="small")
    ax.set_yticks(range(len(measured)), list(measured))
    ax.set_ylim(len(measured) - 0.5, -0.5)
    ax.set_xlim(0, max(max(t) for t in measured.values()) * 1.45)
    ax.set_xlabel(f"{what} ({unit}): dots = repeats, bar = median, line = min-max")
    ax.grid(axis="x", alpha=0.3)


def draw_task_runs(ax, results: Sequence[tuple[int, int, float, float]],
                   labels: Sequence[str] = (), title: str = "",
                   horizon: float | None = None) -> None:
    """One row per worker, one bar per task it ran: ``results`` holds (worker, task, start, end).

    Times are drawn from the first task's start. ``labels`` names the rows
    (e.g. "worker 0 (CPU 1)"); ``horizon`` fixes the time axis so that two runs compare.
    """
    from .plots import CORE_COLORS

    t0 = min(start for _, _, start, _ in results)
    rows = max(len(labels), 1 + max(worker for worker, *_ in results))
    for worker, task, start, end in results:
        ax.barh(worker, end - start, left=start - t0, height=0.6, edgecolor="white", lw=0.5,
                color=CORE_COLORS[worker % len(CORE_COLORS)])
        ax.text((start + end) / 2 - t0, worker, str(task), ha="center", va="center",
                fontsize="x-small")
    labels = list(labels) + [f"worker {i}" for i in range(len(labels), rows)]
    ax.set_yticks(range(rows), labels, fontsize="small")
    ax.set_ylim(rows - 0.5, -0.5)
    makespan = max(end for *_, end in results) - t0
    ax.set_xlim(0, (horizon or makespan) * 1.02)
    ax.axvline(makespan, ls="--", color="black", lw=1)
    ax.set_xlabel("time since the first task started (s)")
    ax.set_title(title or f"makespan {makespan:.3f} s", fontsize="medium")
    ax.grid(axis="x", alpha=0.3)

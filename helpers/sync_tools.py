"""Pictures for lesson 06: what the synchronization tools did, drawn from the cells' own records.

The threads, locks, semaphores and barriers are in the notebook's cells; these
functions only draw what those cells recorded:

* :func:`draw_in_use` -- how many users held a connection over time (a
  ``Semaphore`` demo records ``(time, users)`` after every change);
* :func:`draw_spans` -- one bar per (worker, phase) from ``(worker, phase,
  start, end)`` records, coloured by phase (a ``Barrier`` demo).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["draw_in_use", "draw_spans"]

#: Okabe-Ito colours (readable with colour blindness), one per phase.
PHASE_COLORS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00"]


def draw_in_use(ax: Axes, log: Sequence[tuple[float, int]], limit: int | None = None) -> None:
    """A step line of users holding a connection against time (ms from the first record)."""
    if not log:
        ax.text(0.5, 0.5, "nothing recorded", ha="center", transform=ax.transAxes)
        return
    points = sorted(log)
    t0 = points[0][0]
    ax.step([(t - t0) * 1000 for t, _ in points], [n for _, n in points], where="post",
            color=PHASE_COLORS[0], label="users holding a connection")
    if limit is not None:
        ax.axhline(limit, color="#D55E00", ls="--", label=f"pool size ({limit})")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("users at once")
    ax.set_ylim(bottom=0)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="lower right")


def draw_spans(ax: Axes, spans: Sequence[tuple[int, int, float, float]], title: str = "") -> None:
    """One horizontal bar per (worker, phase, start, end), coloured by phase; time in ms."""
    if not spans:
        ax.text(0.5, 0.5, "nothing recorded", ha="center", transform=ax.transAxes)
        return
    t0 = min(s for _, _, s, _ in spans)
    phases = sorted({p for _, p, _, _ in spans})
    for worker, phase, start, end in spans:
        color = PHASE_COLORS[phases.index(phase) % len(PHASE_COLORS)]
        ax.barh(worker, (end - start) * 1000, left=(start - t0) * 1000, color=color,
                edgecolor="white", height=0.7)
    for phase in phases:  # legend entries, once per phase
        ax.barh(0, 0, color=PHASE_COLORS[phases.index(phase) % len(PHASE_COLORS)],
                label=f"phase {phase}")
    workers = sorted({w for w, _, _, _ in spans})
    ax.set_yticks(workers, [f"worker {w}" for w in workers])
    ax.invert_yaxis()
    ax.set_xlabel("time (ms)")
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize="x-small", loc="lower right")

"""How much memory does a process really take? RSS, USS and PSS, measured.

The operating system can count a process's memory in three ways:

- **RSS** (resident set size): every page of the process that is in RAM now,
  *including pages it shares* with other processes (libraries, and after
  ``fork`` everything it inherited from its parent). Adding up the RSS of
  several processes counts shared pages again and again, so it overstates.
- **USS** (unique set size): the pages only this process uses. It is what the
  machine gets back when the process ends.
- **PSS** (proportional set size): USS plus a fair share of each shared page
  (a page shared by 4 processes counts 1/4 in each). PSS adds up to the real
  total. Only Linux reports it.

psutil reads all three (``psutil.Process(pid).memory_full_info()``). Lesson 01
starts its threads and processes in the cells; these functions only measure,
tabulate and draw.
"""

from __future__ import annotations

from dataclasses import dataclass

import psutil

__all__ = ["MB", "Footprint", "footprint", "megabytes", "pss_available", "total", "table",
           "draw_footprints"]

MB = 1024**2


@dataclass(frozen=True)
class Footprint:
    """Memory of one process in bytes. ``uss``/``pss`` are None where the OS does not report them."""

    pid: int
    rss: int
    uss: int | None
    pss: int | None
    vms: int

    def __str__(self) -> str:
        return (f"pid {self.pid:>7}: RSS {_mb(self.rss)}  USS {_mb(self.uss)}  "
                f"PSS {_mb(self.pss)}  (virtual {_mb(self.vms)})")


def _mb(value: int | None, width: int = 8) -> str:
    return f"{'n/a':>{width}}" if value is None else f"{value / MB:>{width - 3}.1f} MB"


def megabytes(value: int | None) -> str:
    """A byte count as text in MB, e.g. "12.3 MB"; "n/a" for None (a number this OS does not report)."""
    return "n/a" if value is None else f"{value / MB:.1f} MB"


def footprint(pid: int | None = None) -> Footprint:
    """Measure RSS, USS, PSS and virtual size of process ``pid`` (default: this one).

    USS and PSS need ``memory_full_info``, which reads every memory mapping (a
    few ms). PSS exists on Linux only; where the OS refuses USS, it is None.
    """
    if pid is not None and (isinstance(pid, bool) or not isinstance(pid, int)):
        raise TypeError(f"pid must be a whole number (a process id) or None, not {pid!r}.")
    try:
        proc = psutil.Process(pid)
        try:
            info = proc.memory_full_info()
        except (psutil.AccessDenied, NotImplementedError):
            info = proc.memory_info()
    except psutil.NoSuchProcess:
        raise ValueError(f"There is no process with pid {pid} (it may have ended).") from None
    return Footprint(proc.pid, info.rss, getattr(info, "uss", None), getattr(info, "pss", None),
                     info.vms)


def pss_available() -> bool:
    """True if this OS reports PSS (Linux does; macOS and Windows do not)."""
    return footprint().pss is not None


def total(footprints: list[Footprint]) -> dict[str, int | None]:
    """Sum RSS, USS and PSS over processes (a sum is None if any process lacks that number)."""
    sums: dict[str, int | None] = {}
    for name in ("rss", "uss", "pss"):
        values = [getattr(f, name) for f in footprints]
        sums[name] = None if any(v is None for v in values) else sum(values)
    return sums


def table(rows: list[tuple[str, Footprint]]) -> str:
    """Labelled footprints as a plain-text table in MB: one row each, RSS, USS and PSS columns."""
    width = max([len(label) for label, _ in rows] + [10]) + 2
    lines = [f"{'':<{width}}{'RSS':>11}{'USS':>11}{'PSS':>11}"]
    for label, f in rows:
        lines.append(f"{label:<{width}}{_mb(f.rss, 11)}{_mb(f.uss, 11)}{_mb(f.pss, 11)}")
    return "\n".join(lines)


def draw_footprints(ax, rows: list[tuple[str, Footprint]]) -> None:
    """Horizontal bars of RSS, PSS and USS (MB) for each labelled footprint; missing numbers are left out."""
    kinds = [("rss", "RSS: shared pages fully", "#999999"),
             ("pss", "PSS: shared pages split", "#E69F00"),
             ("uss", "USS: own pages only", "#009E73")]
    height = 0.8 / len(kinds)
    for k, (name, label, color) in enumerate(kinds):
        ys, values = [], []
        for i, (_, f) in enumerate(rows):
            value = getattr(f, name)
            if value is not None:
                ys.append(i + (k - 1) * height)
                values.append(value / MB)
        if values:
            ax.barh(ys, values, height=height, color=color, label=label)
    ax.set_yticks(range(len(rows)), [label for label, _ in rows])
    ax.invert_yaxis()
    ax.set_xlabel("memory (MB)")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=len(kinds))

"""A decision guide built from the numbers *you* measured in lesson 07's cells.

Rules of thumb ("threads for waiting, processes for computing") are only as
good as the numbers behind them, and the numbers change from a laptop to a
Binder session to a free-threaded Python. So the lesson measures them in its
cells and hands them to this module, which only applies the rules and prints
the table::

    from helpers import decision
    guide = decision.Guide(usable_cpus=2, gil_enabled=True, start_method="fork")
    guide.speed("pure-Python computing", n=2, threads=0.98, processes=1.9, gil_bound=True)
    print(guide)

The thresholds (:data:`GAIN`, :data:`THREAD_SHARE`) are the course author's
choice, not laws: change them and print the guide again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["GAIN", "THREAD_SHARE", "CHOICES", "Guide", "recommend", "rules"]

CHOICES = ("threads", "processes", "one worker")
#: A speedup below this is treated as "no real gain" (timings on a shared machine wobble).
GAIN = 1.2
#: Threads are chosen when they reach this share of the processes' speedup (start faster, less memory).
THREAD_SHARE = 0.8


def recommend(threads: float, processes: float, ceiling: float, gil_bound: bool = False) -> str:
    """"threads", "processes" or "one worker", from two measured speedups.

    ``ceiling`` is the best speedup possible (the number of workers; for computing
    also the usable CPUs): a higher reading means the 1-worker run was slowed by
    other programs, and counts as the ceiling. ``gil_bound`` says the work is
    pure Python with the GIL on: then threads cannot gain, and a thread reading
    above 1x is noise.
    """
    for name, value in (("threads", threads), ("processes", processes), ("ceiling", ceiling)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ValueError(f"{name} must be a positive number (a measured speedup), "
                             f"not {value!r}.")
    threads, processes = min(threads, ceiling), min(processes, ceiling)
    if gil_bound:
        threads = min(threads, 1.0)
    if threads >= GAIN and threads >= THREAD_SHARE * processes:
        return "threads"
    if processes >= GAIN:
        return "processes"
    return "one worker"


def rules() -> str:
    """The rules behind the guide's "choose" column, with the thresholds in use."""
    return "\n".join([
        "How the 'choose' column decides (rules of thumb picked by the course author, not laws):",
        f"- a speedup counts as a gain only from GAIN = {GAIN:g}x up: smaller differences can be "
        f"timing wobble on a busy machine;",
        f"- threads win if they gain and reach THREAD_SHARE = {THREAD_SHARE:.0%} of the "
        f"processes' speedup: they start faster and need less memory;",
        "- no reading counts above its ceiling (the worker count; for computing also the "
        "usable CPUs);",
        "- with the GIL on, threads count as 1x on pure-Python work, whatever they measured;",
        "- if neither gains, the choice is 'one worker'.",
        "Change them (decision.GAIN = 1.5) and print the guide again.",
    ])


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms" if seconds < 0.01 else (
        f"{seconds * 1e3:.0f} ms" if seconds < 1 else f"{seconds:.2f} s")


@dataclass
class Guide:
    """Rows of (situation, what was measured here, what to choose), printed as a table."""

    usable_cpus: int
    gil_enabled: bool
    start_method: str
    rows: list[tuple[str, str, str]] = field(default_factory=list)
    #: The choice of each speed row, by situation (what :meth:`speed` decided).
    choices: dict[str, str] = field(default_factory=dict)

    def speed(self, situation: str, n: int, threads: float, processes: float,
              gil_bound: bool = False, cpu_bound: bool = True) -> str:
        """Add a row from the speedups of ``n`` threads and ``n`` processes; return the choice."""
        ceiling = min(n, self.usable_cpus) if cpu_bound else n
        choice = recommend(threads, processes, ceiling, gil_bound)
        self.choices[situation] = choice
        self.rows.append((situation, f"{n} threads {threads:.2f}x, {n} processes "
                                     f"{processes:.2f}x (ceiling {ceiling}x)", choice))
        return choice

    def startup(self, seconds: dict[str, float]) -> None:
        """Add a row from the measured cost of starting one worker (thread, start methods)."""
        slowest = max(s for how, s in seconds.items() if how != "thread")
        factor = slowest / seconds["thread"] if seconds.get("thread") else float("nan")
        self.rows.append(("starting one worker",
                          ", ".join(f"{how} {_ms(s)}" for how, s in seconds.items()),
                          f"a pool: pay it once, not per task ({factor:.0f}x a thread)"))

    def chunks(self, n_tasks: int, medians: dict[int, float]) -> None:
        """Add a row from the times of ``n_tasks`` tiny tasks in a process pool, per chunk size."""
        best = min(medians, key=medians.get)
        self.rows.append((f"{n_tasks:,} tiny tasks",
                          ", ".join(f"chunksize {c}: {_ms(s)}" for c, s in medians.items()),
                          f"processes with chunksize {best}, or no pool"))

    def add(self, situation: str, measured: str, choice: str) -> None:
        """Add a row of your own."""
        self.rows.append((situation, measured, choice))

    def __str__(self) -> str:
        rows = [("situation", "measured on this machine", "choose"), *self.rows]
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        lines = [f"Measured with {self.usable_cpus} usable CPU(s), start method "
                 f"{self.start_method}, GIL {'on' if self.gil_enabled else 'OFF (free-threaded)'}"]
        for i, row in enumerate(rows):
            lines.append(" | ".join(text.ljust(w) for text, w in zip(row, widths)).rstrip())
            if i == 0:
                lines.append("-+-".join("-" * w for w in widths))
        return "\n".join(lines)

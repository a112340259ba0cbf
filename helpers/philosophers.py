"""The dining philosophers: a deadlock you can watch, and two ways to prevent it.

``n`` philosophers sit round a table with one fork between each pair. Each
philosopher is a real thread and each fork a ``threading.Lock``; to eat, a
philosopher needs both neighbouring forks. Nothing can hang: a philosopher who
waits long for a fork looks at who holds and who waits for which fork (the
resource-allocation graph), and if it has a cycle the
dinner is declared deadlocked and everyone puts the forks down.

- :func:`dine` -- run one dinner with a strategy (``"naive"``, ``"ordered"``,
  ``"waiter"``) and get a :class:`DinnerResult` (meals, deadlocked or not).
- :func:`draw_meals` -- meals per philosopher as bars.
- :func:`dinner_panel` -- a widget: choose the number of philosophers and a
  strategy, press Run, see the meals and, after a deadlock, the
  resource-allocation graph and the wait-for graph.

::

    from helpers import philosophers
    print(philosophers.dine(5, "naive"))      # DEADLOCK ...
    print(philosophers.dine(5, "ordered"))    # no deadlock
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field

from .hazards import draw_resource_graph, draw_wait_for_graph, find_cycle
from .safety import join_all
from .validation import validate_choice, validate_int, validate_seconds

#: Seconds a thread waits for the others at the starting barrier.
BARRIER_TIMEOUT = 10.0
#: Seconds a run may take beyond its own time limit before it is given up.
DEFAULT_TIMEOUT = 20.0

__all__ = ["dine", "draw_meals", "dinner_panel", "DinnerResult", "STRATEGIES"]

STRATEGIES = ("naive", "ordered", "waiter")


@dataclass
class DinnerResult:
    """Meals eaten by each philosopher, and whether the table deadlocked."""

    n: int
    strategy: str
    meals: list[int]
    deadlocked: bool
    seconds: float
    holds: dict[str, list[str]] = field(default_factory=dict)
    waits: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        verdict = ("DEADLOCK: every philosopher holds one fork and waits for the next "
                   "(detected by timeout)" if self.deadlocked else "no deadlock")
        return (f"{self.n} philosophers, strategy {self.strategy!r}, {self.seconds:.2f} s: "
                f"meals {self.meals} -> {verdict}")


def _forks_for(i: int, n: int, strategy: str) -> tuple[int, int]:
    left, right = i, (i + 1) % n
    if strategy == "ordered":
        return min(left, right), max(left, right)   # lowest-numbered fork first
    return left, right


def _philosopher(i: int, n: int, strategy: str, forks: list, seat, table: dict,
                 barrier: threading.Barrier, end: float, patience: float, reach: float,
                 eat: float) -> None:
    first, second = _forks_for(i, n, strategy)
    me = f"philosopher {i}"
    rng = random.Random(i)
    barrier.wait(BARRIER_TIMEOUT)
    while time.perf_counter() < end and not table["stop"].is_set():
        if seat is not None and not seat.acquire(timeout=0.05):   # the waiter says: not now
            continue
        try:
            if not _take(forks[first], table, me, f"fork {first}", end, patience):
                return
            try:
                time.sleep(reach)                   # reaching for the other fork takes a moment
                if not _take(forks[second], table, me, f"fork {second}", end, patience):
                    return
                try:
                    time.sleep(eat)
                    table["meals"][i] += 1
                finally:
                    _put(forks[second], table, me, f"fork {second}")
            finally:
                _put(forks[first], table, me, f"fork {first}")
        finally:
            if seat is not None:
                seat.release()
        time.sleep(rng.uniform(0, eat))             # think


def _take(fork: threading.Lock, table: dict, me: str, name: str, end: float,
          patience: float) -> bool:
    """Wait for a fork in short steps. Every ``patience`` seconds of waiting (and when the
    dinner ends) look for a cycle in the resource-allocation graph: if there is one, declare
    a deadlock.
    Returns False if we leave without the fork."""
    with table["guard"]:
        table["waits"][me] = name
    look_at = time.perf_counter() + patience
    while not fork.acquire(timeout=0.02):
        if table["stop"].is_set():
            return False
        now = time.perf_counter()
        if now > look_at or now > end:                          # waited long: look around
            with table["guard"]:
                holds = {k: list(v) for k, v in table["holds"].items() if v}
                waits = dict(table["waits"])
                if find_cycle(holds, waits) and not table["stop"].is_set():
                    table["snapshot"] = (holds, waits)          # a cycle: it is a deadlock
                    table["stop"].set()                         # everyone puts the forks down
            if now > end:
                return False
            look_at = now + patience                            # no cycle: just slow, wait on
    with table["guard"]:
        table["waits"].pop(me, None)
        table["holds"].setdefault(me, []).append(name)
    return True


def _put(fork: threading.Lock, table: dict, me: str, name: str) -> None:
    with table["guard"]:
        table["holds"][me].remove(name)
    fork.release()


def dine(n: int = 5, strategy: str = "naive", seconds: float = 1.0, patience: float = 0.5,
         reach: float = 0.02, eat: float = 0.005) -> DinnerResult:
    """The dining philosophers, with ``n`` real threads and ``n`` forks (locks).

    Each philosopher repeatedly takes two forks, eats, puts them back, thinks.

    - ``"naive"``: take the left fork, then the right one. If all pick up their
      left fork at once, everyone waits for a neighbour forever -- a deadlock.
    - ``"ordered"``: take the lower-numbered of the two forks first. One
      philosopher now reaches the "other way", so no cycle can form.
    - ``"waiter"``: a semaphore lets at most ``n - 1`` sit down at once, so at
      least one of them can always get both forks.

    A philosopher that has waited ``patience`` seconds for a fork looks at the
    resource-allocation graph; if it has a cycle, the dinner is declared deadlocked and
    everyone puts their forks down and leaves. The dinner lasts
    at most ``seconds`` (plus the patience), and every thread is joined.
    """
    validate_int(n, "n", 2, 8)
    validate_choice(strategy, "strategy", STRATEGIES)
    validate_seconds(seconds, "seconds", 0, 30)
    validate_seconds(patience, "patience", 0, 10)
    forks = [threading.Lock() for _ in range(n)]
    seat = threading.Semaphore(n - 1) if strategy == "waiter" else None
    table = {"meals": [0] * n, "holds": {}, "waits": {}, "guard": threading.Lock(),
             "stop": threading.Event(), "snapshot": None}
    barrier = threading.Barrier(n)
    t0 = time.perf_counter()
    end = t0 + seconds
    threads = [threading.Thread(daemon=True, target=_philosopher, name=f"philosopher-{i}",
                       args=(i, n, strategy, forks, seat, table, barrier, end, patience,
                             reach, eat))
               for i in range(n)]
    for t in threads:
        t.start()
    join_all(threads, end + patience + DEFAULT_TIMEOUT)
    snapshot = table["snapshot"]
    holds, waits = snapshot if snapshot else ({}, {})
    deadlocked = bool(find_cycle(holds, waits))
    return DinnerResult(n, strategy, list(table["meals"]), deadlocked,
                        time.perf_counter() - t0, holds if deadlocked else {},
                        waits if deadlocked else {})


def draw_meals(ax, result: DinnerResult) -> None:
    """One bar per philosopher: meals eaten. Red title if the dinner deadlocked."""
    from .plots import COLORS

    ax.bar(range(result.n), result.meals, color=COLORS["threads"])
    ax.set_xticks(range(result.n), [f"P{i}" for i in range(result.n)])
    ax.set_xlabel("philosopher (a thread)")
    ax.set_ylabel("meals eaten")
    ax.yaxis.get_major_locator().set_params(integer=True)
    verdict = "DEADLOCK (detected by timeout)" if result.deadlocked else "no deadlock"
    ax.set_title(f"{result.n} philosophers, {result.strategy!r}: {verdict}", fontsize=9,
                 color="#b00" if result.deadlocked else "black")
    ax.grid(axis="y", alpha=0.3)


def dinner_panel(seconds: float = 1.0, patience: float = 0.5):
    """A widget: pick the number of philosophers (2-8) and a strategy, press Run, see the dinner.

    The run uses real threads and takes at most about ``seconds + patience``;
    the panel shows meals per philosopher and, after a deadlock, the resource-allocation
    graph and the wait-for graph.
    ``panel.run()`` does what the button does; ``panel.result`` is the last result.
    """
    import ipywidgets as widgets

    from . import plots

    count = widgets.IntSlider(value=5, min=2, max=8, description="philosophers")
    strategy = widgets.Dropdown(options=STRATEGIES, value="naive",
                                description="strategy")
    button = widgets.Button(description="Run the dinner", button_style="primary")
    text = widgets.HTML()
    image = widgets.Image(format="png")
    panel = widgets.VBox([widgets.HBox([count, strategy, button]), text, image])
    panel.result = None

    def run(_=None) -> DinnerResult:
        button.disabled = True
        text.value = "dinner in progress..."
        try:
            result = dine(count.value, strategy.value, seconds, patience)
        finally:
            button.disabled = False
        fig = plots.figure(12, 3.8)
        draw_meals(fig.add_subplot(1, 3, 1), result)
        graphs = fig.add_subplot(1, 3, 2), fig.add_subplot(1, 3, 3)
        if result.deadlocked:
            draw_resource_graph(graphs[0], result.holds, result.waits)
            draw_wait_for_graph(graphs[1], result.holds, result.waits)
        else:
            for graph in graphs:
                graph.axis("off")
            graphs[0].text(0.5, 0.5, "nobody got stuck:\nno cycle", ha="center")
        image.value = plots.to_png(fig)
        text.value = f"<pre>{result}</pre>"
        panel.result = result
        return result

    button.on_click(run)
    panel.run = run
    return panel

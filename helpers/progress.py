"""A progress bar that shows up only when something takes a while.

Short runs stay silent. Once a run has gone on for ``delay`` seconds (2 s by
default) a bar appears: an ipywidgets bar inside a notebook, a line of text on
the terminal elsewhere.
"""

from __future__ import annotations

import sys
import time


def in_notebook() -> bool:
    """True when running inside a Jupyter kernel (so widgets can be shown)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class Progress:
    """Count finished steps; show a bar once ``delay`` seconds have passed.

    Use it as a context manager::

        with Progress(total=10, label="repeats") as bar:
            for i in range(10):
                ...
                bar.update(i + 1)
    """

    def __init__(self, total: int, label: str = "progress", delay: float = 2.0, enabled: bool = True):
        self.total = max(1, int(total))
        self.label = label
        self.delay = delay
        self.enabled = enabled
        self.done = 0
        self.shown = False
        self._t0 = time.perf_counter()
        self._bar = None
        self._last_text = 0.0

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def update(self, done: int | None = None) -> None:
        """Record progress (``done`` steps finished, or one more if omitted); draw if due."""
        self.done = self.done + 1 if done is None else int(done)
        self.refresh()

    def refresh(self) -> None:
        """Show or redraw the bar if the delay has passed (cheap to call often)."""
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self._t0
        if not self.shown and elapsed < self.delay:
            return
        if not self.shown:
            self.shown = True
            if in_notebook():
                import ipywidgets as widgets
                from IPython.display import display

                self._bar = widgets.IntProgress(
                    value=0, min=0, max=self.total, description=self.label,
                    style={"description_width": "initial"},
                )
                display(self._bar)
        if self._bar is not None:
            self._bar.value = min(self.done, self.total)
            self._bar.description = f"{self.label} {self.done}/{self.total} ({elapsed:.0f} s)"
        elif elapsed - self._last_text >= 1.0 or self.done >= self.total:
            self._last_text = elapsed
            print(f"\r{self.label}: {self.done}/{self.total} after {elapsed:.1f} s", end="",
                  file=sys.stderr, flush=True)

    def close(self) -> None:
        """Finish the bar (turns it green in a notebook, ends the text line elsewhere)."""
        if self.shown and self._bar is not None:
            self._bar.value = min(self.done, self.total)
            self._bar.bar_style = "success" if self.done >= self.total else "warning"
        elif self.shown:
            print(file=sys.stderr)

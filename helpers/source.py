"""Show the code of a function or a worker file in the notebook, as it is on disk.

::

    from helpers.source import show
    import workers.lesson05 as w
    show(w)                 # the whole worker file
    show(w.add_many)        # one function

The code shown is read from the file each time, so after you edit a worker file
(and restart the kernel, or ``importlib.reload`` it) you see your version.
"""

from __future__ import annotations

import inspect
from pathlib import Path

__all__ = ["show", "source_of"]


def source_of(obj: object) -> str:
    """The source text of a function, class, module, or ``.py`` file path."""
    if isinstance(obj, (str, Path)):
        path = Path(obj)
        if path.suffix != ".py" or not path.is_file():
            raise ValueError(f"{str(obj)!r} is not a .py file here.")
        return path.read_text()
    try:
        return inspect.getsource(obj)
    except (TypeError, OSError) as exc:
        raise TypeError(f"Cannot show the source of {obj!r}: {exc}. Pass a function, "
                        "class, module or .py file.") from None


def show(obj: object) -> None:
    """Display the source of ``obj`` with syntax colouring (plain text where that is all)."""
    from IPython.display import display

    text = source_of(obj).rstrip("\n")
    name = getattr(obj, "__file__", None) or getattr(obj, "__name__", None) or str(obj)
    if getattr(obj, "__file__", None):
        name = "/".join(Path(name).parts[-2:])
    display({"text/plain": f"# {name}\n{text}",
             "text/markdown": f"`{name}`\n```python\n{text}\n```"}, raw=True)

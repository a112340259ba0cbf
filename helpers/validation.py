"""The one place where the course refuses bad input, in plain words, before anything starts.

Every ``validate_*`` function returns the value it accepted (normalised) or raises
``TypeError`` (wrong kind of value) or ``ValueError`` (right kind, wrong size),
naming the parameter and what is allowed. Only ``None`` means "use the default";
an empty string is a mistake, not a default.
"""

from __future__ import annotations

import functools
import pickle
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["validate_int", "validate_seconds", "validate_choice", "validate_start_method",
           "validate_sequence", "validate_importable", "validate_callable", "MAX_WORKERS"]

#: The most workers one run may start. More than this is almost surely a typo.
MAX_WORKERS = 64


def validate_int(value: object, name: str, low: int | None = None,
                 high: int | None = None) -> int:
    """A whole number from ``low`` to ``high`` (each optional)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be a whole number, not {value!r}.")
    if low is not None and value < low:
        raise ValueError(f"{name} must be at least {low}; got {value}.")
    if high is not None and value > high:
        raise ValueError(f"{name} must be at most {high}; got {value}.")
    return value


def validate_seconds(value: object, name: str, low: float = 0.0, high: float = 3600.0) -> float:
    """A number of seconds, more than ``low`` and at most ``high``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, not {value!r}.")
    if not (low < value <= high):
        raise ValueError(f"{name} must be more than {low:g} and at most {high:g} seconds; "
                         f"got {value!r}.")
    return float(value)


def validate_choice(value: object, name: str, allowed: Sequence[str]) -> str:
    """One of the strings in ``allowed``."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be one of {', '.join(map(repr, allowed))}; "
                        f"got {value!r}.")
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}; "
                         f"got {value!r}.")
    return value


def validate_start_method(value: object, name: str = "start_method") -> str:
    """A start method this platform has; ``None`` means the course's (``COURSE_START_METHOD``)."""
    from . import system

    if value is None:
        return system.course_start_method()
    return validate_choice(value, name, system.start_methods())


def validate_sequence(value: object, name: str, max_len: int = 10_000,
                      min_len: int = 1) -> list:
    """A list or tuple (not a string) of ``min_len`` to ``max_len`` items, returned as a list.

    The length is checked before the items are copied, so a huge ``range`` is
    refused at once instead of filling the memory.
    """
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple, range)):
        raise TypeError(f"{name} must be a list or tuple, not {type(value).__name__} "
                        f"{value!r:.60}.")
    if len(value) < min_len:
        raise ValueError(f"{name} needs at least {min_len} item(s); got {len(value)}.")
    if len(value) > max_len:
        raise ValueError(f"{name} may have at most {max_len:,} items; got {len(value):,}.")
    return list(value)


def validate_callable(fn: object, name: str = "the function") -> Callable:
    """Something that can be called."""
    if not callable(fn):
        raise TypeError(f"{name} must be a function; got {type(fn).__name__} {fn!r:.60}.")
    return fn


def _wrapped_functions(fn: Any) -> list:
    """``fn`` and every function hidden inside it by ``functools.partial`` or a method."""
    found = [fn]
    if isinstance(fn, functools.partial):
        found += _wrapped_functions(fn.func)
        for arg in (*fn.args, *fn.keywords.values()):
            if callable(arg):
                found += _wrapped_functions(arg)
    elif hasattr(fn, "__func__"):  # a bound method
        found += _wrapped_functions(fn.__func__)
    return found


def validate_importable(fn: Callable, start_method: str = "spawn") -> Callable:
    """Refuse a function that a fresh ``start_method`` child could not import.

    ``spawn`` and ``forkserver`` children start a new Python and look the function
    up by module and name. A function defined in a notebook cell (module
    ``__main__``), a lambda or a nested function cannot be found that way -- not
    even wrapped in ``functools.partial`` -- and ``multiprocessing.Pool.map`` would
    then hang forever, restarting workers.
    """
    validate_callable(fn)
    for inner in _wrapped_functions(fn):
        module = getattr(inner, "__module__", None)
        name = getattr(inner, "__qualname__", repr(inner))
        wrapped = "" if inner is fn else f" (inside {type(fn).__name__} {fn!r:.60})"
        if module == "__main__":
            raise ValueError(
                f"The function {name!r}{wrapped} was defined in this notebook (module __main__). "
                f"Under the '{start_method}' start method each child process starts a fresh "
                f"Python that cannot see notebook cells. Put the function in a .py file beside "
                f"the notebook (for example workers/my_work.py) and import it from there.")
        if "<lambda>" in name or "<locals>" in name:
            raise ValueError(
                f"{name!r}{wrapped} is a lambda or a function defined inside another function. "
                f"A '{start_method}' child process can only run a function it can import by "
                f"name: define it at the top level of a .py module.")
    try:
        pickle.dumps(fn)
    except Exception as exc:
        raise TypeError(f"{getattr(fn, '__qualname__', fn)!r} cannot be sent to a "
                        f"'{start_method}' child process ({exc}).") from None
    return fn

"""Bad input to any helper a notebook calls gets the course's own clear error, before anything starts.

The entry points are discovered from the notebooks: every call a code cell makes
to a function of a ``helpers`` module (``measure.sweep(...)``, ``show(...)``).
For each one whose call in the notebook uses plain literal arguments, each
parameter in turn gets bad values of its kind -- wrong type, empty string, ``None``
where it is not allowed, negative, huge -- while the other arguments keep the
notebook's values. Each must raise ``TypeError``/``ValueError`` whose message names
the parameter, and no thread or process may start before the error.

Graders (``check_*``) are not here: they must *report* a learner's wrong answer,
not raise; ``tests/test_checks_*.py`` and ``tests/test_hostile_code.py`` cover them.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import multiprocessing.process
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))

#: Calls that take no learner input worth refusing, or whose input is the learner's answer.
NOT_ENTRY_POINTS = ("check_", "quiz", "Question", "show", "shutdown_helpers", "leftover_workers")

HUGE = 10**12

#: Values that are right for a parameter although they look odd (say why).
ACCEPTED = {
    ("capstone.make_job", "seed", HUGE): "any whole number is a valid random seed",
}


@dataclass
class EntryPoint:
    notebook: str
    name: str
    fn: Any
    args: tuple
    kwargs: dict


def _imports(tree: ast.AST) -> dict[str, Any]:
    """Names bound by ``from helpers[.x] import y [as z]`` in one notebook."""
    names: dict[str, Any] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("helpers"):
            base = importlib.import_module(node.module)
            for alias in node.names:
                try:
                    value = getattr(base, alias.name)
                except AttributeError:
                    value = importlib.import_module(f"{node.module}.{alias.name}")
                names[alias.asname or alias.name] = value
    return names


def _literal(node: ast.AST):
    return ast.literal_eval(node)


def discover() -> list[EntryPoint]:
    found: dict[str, EntryPoint] = {}
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        source = "\n".join(c.source for c in nb.cells if c.cell_type == "code"
                           and not c.source.lstrip().startswith(("%", "!")))
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        names = _imports(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) \
                    and f.value.id in names and inspect.ismodule(names[f.value.id]):
                fn, name = getattr(names[f.value.id], f.attr, None), f"{f.value.id}.{f.attr}"
            elif isinstance(f, ast.Name) and f.id in names and callable(names[f.id]):
                fn, name = names[f.id], f.id
            else:
                continue
            if fn is None or not callable(fn) or name.split(".")[-1].startswith(NOT_ENTRY_POINTS):
                continue
            try:
                args = tuple(_literal(a) for a in node.args)
                kwargs = {k.arg: _literal(k.value) for k in node.keywords if k.arg}
            except (ValueError, TypeError, SyntaxError):
                continue  # not plain literals: the call needs the notebook's state
            key = f"{fn.__module__}.{getattr(fn, '__qualname__', name)}"
            if key not in found:
                found[key] = EntryPoint(path.stem, name, fn, args, kwargs)
    return list(found.values())


def _kind(param: inspect.Parameter, value: Any) -> str | None:
    """What a parameter holds: from its annotation, else the value the notebook passed."""
    note = str(param.annotation).replace("typing.", "")
    for kind, words in (("float", ("float",)), ("int", ("int",)), ("str", ("str",)),
                        ("sequence", ("Sequence", "list", "tuple"))):
        if note.split("|")[0].strip().startswith(words):
            return kind
    sample = value if value is not inspect.Parameter.empty else param.default
    if isinstance(sample, bool) or sample is None or sample is inspect.Parameter.empty:
        return None
    if isinstance(sample, int):
        return "int"
    if isinstance(sample, float):
        return "float"
    if isinstance(sample, str):
        return "str"
    if isinstance(sample, (list, tuple)):
        return "sequence"
    return None


BAD_VALUES = {
    "int": ["3", 2.5, -1, HUGE],
    "float": ["1", -1.0, float(HUGE)],
    "str": ["", 42],
    "sequence": [42, "abc", range(HUGE)],
}


def cases():
    for entry in discover():
        try:
            signature = inspect.signature(entry.fn)
            bound = signature.bind(*entry.args, **entry.kwargs)
        except (TypeError, ValueError):
            continue
        for param in signature.parameters.values():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            kind = _kind(param, bound.arguments.get(param.name, inspect.Parameter.empty))
            if kind is None:
                continue
            bad = list(BAD_VALUES[kind])
            if param.default is not None and param.default is not inspect.Parameter.empty:
                bad.append(None)
            for value in bad:
                if (entry.name, param.name, value) in ACCEPTED:
                    continue
                yield pytest.param(entry, param.name, value,
                                   id=f"{entry.name}-{param.name}={value!r:.20}")


class Launched(BaseException):
    """Raised if anything starts a thread or process during a bad-input call."""


@pytest.fixture
def nothing_may_start(monkeypatch):
    def refuse(self, *a, **k):
        raise Launched(f"{type(self).__name__} started before the bad input was refused")

    monkeypatch.setattr(threading.Thread, "start", refuse)
    monkeypatch.setattr(multiprocessing.process.BaseProcess, "start", refuse)


@pytest.mark.timeout(20)
@pytest.mark.parametrize("entry, name, value", list(cases()))
def test_bad_value_is_refused_before_launch(entry, name, value, nothing_may_start):
    signature = inspect.signature(entry.fn)
    bound = signature.bind(*entry.args, **entry.kwargs)
    bound.arguments[name] = value
    try:
        entry.fn(*bound.args, **bound.kwargs)
    except (TypeError, ValueError) as exc:
        words = {name, name.replace("_", " ")}
        assert any(w in str(exc) for w in words), (
            f"{entry.name}({name}={value!r:.30}) raised {type(exc).__name__} without naming "
            f"{name!r}: {exc}")
        return
    except Launched as exc:
        pytest.fail(f"{entry.name}({name}={value!r:.30}): {exc}")
    pytest.fail(f"{entry.name}({name}={value!r:.30}) was accepted (notebook {entry.notebook})")


def test_entry_points_are_found():
    entries = discover()
    assert len(entries) >= 10, [e.name for e in entries]

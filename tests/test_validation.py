"""The one validation module: wrong type -> TypeError, wrong size -> ValueError, both named."""

from __future__ import annotations

import functools

import pytest

from helpers import validation as v
from helpers import workloads


@pytest.mark.parametrize("bad, error", [(True, TypeError), ("3", TypeError), (None, TypeError),
                                        (2.0, TypeError), (0, ValueError), (65, ValueError)])
def test_validate_int(bad, error):
    with pytest.raises(error, match="workers"):
        v.validate_int(bad, "workers", low=1, high=64)
    assert v.validate_int(3, "workers", low=1, high=64) == 3


@pytest.mark.parametrize("bad", ["", "Spawn", None, 3])
def test_an_empty_or_wrong_start_method_is_refused(bad):
    if bad is None:
        assert v.validate_start_method(None)  # None means the course's default
        return
    with pytest.raises((TypeError, ValueError), match="start_method"):
        v.validate_start_method(bad)


def test_a_string_is_not_a_sequence_and_a_huge_range_is_refused_without_copying():
    with pytest.raises(TypeError, match="list or tuple"):
        v.validate_sequence("threads", "modes")
    with pytest.raises(ValueError, match="at most"):
        v.validate_sequence(range(10**12), "worker_counts", max_len=100)
    assert v.validate_sequence((1, 2), "worker_counts") == [1, 2]


def test_validate_choice_names_what_is_allowed():
    with pytest.raises(ValueError, match="'threads', 'processes'"):
        v.validate_choice("t", "mode", ("threads", "processes"))


def notebook_like():
    pass


notebook_like.__module__ = "__main__"


def test_a_notebook_function_hidden_in_a_partial_is_found():
    with pytest.raises(ValueError, match="notebook"):
        v.validate_importable(functools.partial(notebook_like))
    with pytest.raises(ValueError, match="lambda"):
        v.validate_importable(functools.partial(lambda: 1))
    assert v.validate_importable(functools.partial(workloads.cpu_work, 10))

"""Tests for helpers.checks.lesson04: the solutions pass, typical wrong answers are rejected."""

from __future__ import annotations

from multiprocessing import shared_memory

import numpy as np
import pytest
import workers.lesson04 as w

from helpers import sharing, system
from helpers.checks import lesson04 as checks

METHODS_HERE = [m for m in ("fork", "spawn", "forkserver") if m in system.start_methods()]

pytestmark = [pytest.mark.timeout(120), pytest.mark.usefixtures("nothing_left_running")]


@pytest.fixture(autouse=True)
def no_block_left():
    yield
    assert sharing.leftover_segments() == []


# --------------------------------------------------------------------------- exercise 1


def halves_solution(ctx, n, name):
    shm = shared_memory.SharedMemory(name=name, create=True, size=n * 8)
    view = np.ndarray((n,), dtype=np.float64, buffer=shm.buf)
    try:
        half = n // 2
        workers = [ctx.Process(target=w.fill_part, args=(name, n, 0, half)),
                   ctx.Process(target=w.fill_part, args=(name, n, half, n))]
        for p in workers:
            p.start()
        for p in workers:
            p.join(timeout=10)
        return view.copy()
    finally:
        del view
        shm.close()
        shm.unlink()


def halves(ctx, n, name, *, parts=None, join=True, unlink=True, give_array=False,
           copy=True):
    """The solution with one mistake switched on."""
    shm = shared_memory.SharedMemory(name=name, create=True, size=n * 8)
    view = np.ndarray((n,), dtype=np.float64, buffer=shm.buf)
    view[:] = 0
    parts = parts or [(0, n // 2), (n // 2, n)]
    workers = [ctx.Process(target=w.fill_part, args=(view if give_array else name, n, a, b))
               for a, b in parts]
    for p in workers:
        p.start()
    if join:
        for p in workers:
            p.join(timeout=10)
    result = view.copy()
    if not copy:
        return view  # the block stays mapped (never closed): safe to look at in the test
    del view
    shm.close()
    if unlink:
        shm.unlink()
    return result


def _verdict(capsys, fn, method=None):
    verdict = checks.check_fill_in_halves(fn, start_method=method)
    return verdict, capsys.readouterr().out


@pytest.mark.parametrize("method", METHODS_HERE)
def test_halves_solution_passes(capsys, method):
    verdict, out = _verdict(capsys, halves_solution, method)
    assert verdict, out
    assert out.startswith("Correct!")


def test_halves_skeleton_says_not_yet(capsys):
    def fill_in_halves(ctx, n, name):
        ...

    verdict, out = _verdict(capsys, fill_in_halves)
    assert not verdict and out.startswith("Not yet.") and "returned None" in out
    verdict, out = _verdict(capsys, ...)
    assert not verdict and "Replace the ..." in out


def test_halves_forgotten_unlink_is_removed_and_named(capsys):
    verdict, out = _verdict(capsys, lambda c, n, name: halves(c, n, name, unlink=False))
    assert not verdict and "leaked" in out and "I removed it" in out
    assert "unlink()" not in out  # the hint does not give the call away


@pytest.mark.parametrize("method", METHODS_HERE)
def test_halves_forgotten_join(capsys, method):
    verdict, out = _verdict(capsys, lambda c, n, name: halves(c, n, name, join=False), method)
    assert not verdict
    assert "still running" in out or "still 0" in out or "zeros" in out, out


def test_halves_both_workers_on_the_same_half(capsys):
    verdict, out = _verdict(capsys, lambda c, n, name: halves(c, n, name,
                                                              parts=[(0, n // 2)] * 2))
    assert not verdict and "still 0" in out and "start and stop" in out


def test_halves_off_by_one_leaves_a_gap(capsys):
    verdict, out = _verdict(capsys, lambda c, n, name: halves(
        c, n, name, parts=[(0, n // 2), (n // 2 + 1, n)]))
    assert not verdict and f"place {1001 // 2}" in out


def test_halves_array_passed_instead_of_the_name(capsys):
    verdict, out = _verdict(capsys, lambda c, n, name: halves(c, n, name, give_array=True))
    assert not verdict and "all zeros" in out and "copy" in out


def test_halves_returned_view_is_not_read(capsys):
    verdict, out = _verdict(capsys, lambda c, n, name: halves(c, n, name, copy=False))
    assert not verdict and "view of the shared block" in out
    sharing.remove_leftovers()


def test_halves_block_under_another_name_leaked(capsys):
    def fill_in_halves(ctx, n, name):
        return halves(ctx, n, w.course_name(), unlink=False)

    verdict, out = _verdict(capsys, fill_in_halves)
    assert not verdict and "leaked" in out and "I removed it" in out


def test_halves_raises(capsys):
    def fill_in_halves(ctx, n, name):
        shm = shared_memory.SharedMemory(name=name, create=True, size=n * 8)
        shm.close()
        raise ValueError("oops")

    verdict, out = _verdict(capsys, fill_in_halves)
    assert not verdict and "ValueError: oops" in out and "leaked" in out


# --------------------------------------------------------------------------- exercise 2


def ask_solution(ctx, server, jobs, timeout):
    mine, theirs = ctx.Pipe()
    p = ctx.Process(target=server, args=(theirs,))
    p.start()
    theirs.close()
    replies = []
    try:
        for job in jobs:
            mine.send(job)
            if not mine.poll(timeout):
                break
            replies.append(mine.recv())
        mine.send(None)
    finally:
        p.join(timeout=timeout)
        if p.is_alive():
            p.terminate()
            p.join(timeout=timeout)
        mine.close()
    return replies


def ask(ctx, server, jobs, timeout, *, stop=True, wait=True, go_on=False, terminate=True,
        order=None):
    """A version with one mistake switched on."""
    mine, theirs = ctx.Pipe()
    p = ctx.Process(target=server, args=(theirs,))
    p.start()
    replies = []
    for job in jobs:
        mine.send(job)
        if not wait:
            replies.append(mine.recv())
        elif mine.poll(timeout):
            replies.append(mine.recv())
        elif go_on:
            replies.append(None)
        else:
            break
    if stop:
        mine.send(None)
    p.join(timeout=timeout)
    if terminate and p.is_alive():
        p.terminate()
        p.join(timeout=timeout)
    return order(replies) if order else replies


def _asked(capsys, fn, method=None):
    verdict = checks.check_ask_server(fn, start_method=method)
    return verdict, capsys.readouterr().out


@pytest.mark.parametrize("method", METHODS_HERE)
def test_ask_solution_passes(capsys, method):
    verdict, out = _asked(capsys, ask_solution, method)
    assert verdict, out


def test_ask_skeleton_says_not_yet(capsys):
    def ask_server(ctx, server, jobs, timeout):
        ...

    verdict, out = _asked(capsys, ask_server)
    assert not verdict and out.startswith("Not yet.") and "returned None" in out


def test_ask_without_stop_message(capsys):
    verdict, out = _asked(capsys, lambda *a: ask(*a, stop=False, terminate=False))
    assert not verdict and "still waiting for more jobs" in out


def test_ask_blocking_recv_on_a_missing_reply_ends_with_a_stack_dump(capsys):
    verdict, out = _asked(capsys, lambda *a: ask(*a, wait=False))
    assert not verdict and "did not finish" in out and "recv()" in out, out


def test_ask_going_on_after_a_missing_reply(capsys):
    verdict, out = _asked(capsys, lambda *a: ask(*a, go_on=True))
    assert not verdict and "went on asking" in out


def test_ask_wrong_order(capsys):
    verdict, out = _asked(capsys, lambda *a: ask(*a, order=sorted))
    assert not verdict and "not in the order of the jobs" in out


def test_ask_slow_server_not_ended(capsys):
    verdict, out = _asked(capsys, lambda *a: ask(*a, terminate=False))
    assert not verdict and "ended by force" in out

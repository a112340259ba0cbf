"""Lesson 05's checkers: the solutions pass, each typical wrong answer is rejected with its hint,
and nothing is left running -- not even after a deadlock."""

import sys
import threading

import pytest

from helpers.checks import lesson05 as checks

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("nothing_left_running")]


@pytest.fixture(autouse=True)
def switch_interval_restored():
    before = sys.getswitchinterval()
    yield
    assert sys.getswitchinterval() == before


# --------------------------------------------------------------------------- safe_increment


def inc_solution(counter, lock, times):
    for _ in range(times):
        with lock:
            counter.value += 1


def inc_no_lock(counter, lock, times):
    for _ in range(times):
        counter.value += 1


def inc_lock_around_write(counter, lock, times):
    for _ in range(times):
        seen = counter.value
        with lock:
            counter.value = seen + 1


def inc_lock_around_read(counter, lock, times):
    for _ in range(times):
        with lock:
            seen = counter.value
        counter.value = seen + 1


def inc_lock_twice(counter, lock, times):
    for _ in range(times):
        with lock:
            seen = counter.value
        with lock:
            counter.value = seen + 1


def inc_new_lock(counter, lock, times):
    for _ in range(times):
        with threading.Lock():
            counter.value += 1


def inc_never_released(counter, lock, times):
    lock.acquire()
    for _ in range(times):
        counter.value += 1


def inc_untouched(counter, lock, times):
    ...


def inc_raises(counter, lock, times):
    raise ValueError("oops")


def test_safe_increment_solution_passes():
    for _ in range(3):
        assert checks.check_safe_increment(inc_solution)


@pytest.mark.parametrize("fn, words", [
    (inc_no_lock, "never took the lock"),
    (inc_lock_around_write, "reads of counter.value happened without"),
    (inc_lock_around_read, "writes happened without"),
    (inc_lock_twice, "let it go in between"),
    (inc_new_lock, "new lock on every call"),
    (inc_never_released, "must be released again"),
    (inc_untouched, "still 0"),
    (inc_raises, "ValueError: oops"),
    (..., "Replace the ..."),
])
def test_safe_increment_rejects(fn, words, capsys):
    assert not checks.check_safe_increment(fn)
    out = capsys.readouterr().out
    assert out.startswith("Not yet.") and words in out, out


# --------------------------------------------------------------------------- transfer


def transfer_solution(source, target, amount):
    first, second = sorted((source, target), key=lambda account: account.number)
    with first.lock, second.lock:
        source.balance -= amount
        target.balance += amount


def transfer_opposite(source, target, amount):
    with source.lock:
        with target.lock:
            source.balance -= amount
            target.balance += amount


def transfer_no_lock(source, target, amount):
    source.balance -= amount
    target.balance += amount


def transfer_one_lock(source, target, amount):
    with source.lock:
        source.balance -= amount
        target.balance += amount


def transfer_untouched(source, target, amount):
    ...


def test_transfer_solution_passes():
    for _ in range(3):
        assert checks.check_transfer(transfer_solution)


@pytest.mark.parametrize("fn, words", [
    (transfer_opposite, "Deadlock: caller-"),
    (transfer_no_lock, "changed while its own lock was not held"),
    (transfer_one_lock, "changed while its own lock was not held"),
    (transfer_untouched, "No money moved"),
])
def test_transfer_rejects(fn, words, capsys):
    assert not checks.check_transfer(fn)
    out = capsys.readouterr().out
    assert out.startswith("Not yet.") and words in out, out


# --------------------------------------------------------------------------- sell


def sell_solution(show, lock, buyer):
    with lock:
        if show.seats_left > 0:
            show.issue_ticket(buyer)
            return True
        return False


def sell_no_lock(show, lock, buyer):
    if show.seats_left > 0:
        show.issue_ticket(buyer)
        return True
    return False


def sell_lock_only_check(show, lock, buyer):
    with lock:
        free = show.seats_left > 0
    if free:
        show.issue_ticket(buyer)
    return free


def sell_forgets_release_when_sold_out(show, lock, buyer):
    lock.acquire()
    if show.seats_left > 0:
        show.issue_ticket(buyer)
        lock.release()
        return True
    return False


def sell_returns_nothing(show, lock, buyer):
    with lock:
        if show.seats_left > 0:
            show.issue_ticket(buyer)


def sell_untouched(show, lock, buyer):
    ...


def test_sell_solution_passes():
    for _ in range(2):
        assert checks.check_sell(sell_solution)


@pytest.mark.parametrize("fn, words", [
    (sell_no_lock, "never took the lock"),
    (sell_lock_only_check, "after you let go"),
    (sell_forgets_release_when_sold_out, "still running"),
    (sell_returns_nothing, "Return True"),
    (sell_untouched, "Only 0 of 5"),
])
def test_sell_rejects(fn, words, capsys):
    assert not checks.check_sell(fn)
    out = capsys.readouterr().out
    assert out.startswith("Not yet.") and words in out, out


# --------------------------------------------------------------------------- hostile code


def inc_never_returns(counter, lock, times):
    while True:
        counter.value += 1


def inc_exits(counter, lock, times):
    sys.exit(3)


def transfer_never_returns(source, target, amount):
    while True:
        source.balance -= amount


def sell_never_returns(show, lock, buyer):
    while show.seats_left >= 0:
        pass


@pytest.mark.parametrize("check, fn, words", [
    (checks.check_safe_increment, inc_never_returns, "still running after"),
    (checks.check_safe_increment, inc_exits, "sys.exit(3)"),
    (checks.check_transfer, transfer_never_returns, "still running after"),
    (checks.check_sell, sell_never_returns, "still running after"),
])
def test_hostile_code_is_reported_and_nothing_stays_running(check, fn, words, capsys):
    assert not check(fn)
    out = capsys.readouterr().out
    assert out.startswith("Not yet.") and words in out, out
    assert "never ended" not in out          # freeing the shared data ended the loops
    assert check(inc_solution if check is checks.check_safe_increment
                 else transfer_solution if check is checks.check_transfer else sell_solution)

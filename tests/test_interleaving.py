"""The interleaving model is deterministic: known schedules give known values."""

import random

import pytest

from helpers import interleaving as il


@pytest.mark.parametrize("schedule, final, lost", [
    ("AAABBB", 2, 0),
    ("BBBAAA", 2, 0),
    ("ABABAB", 1, 1),
    ("AABBAB", 1, 1),
    ("ABBBAA", 1, 1),   # A's late STORE overwrites B's
    ("a a a b b b", 2, 0),
])
def test_known_schedules(schedule, final, lost):
    trace = il.run_schedule(schedule)
    assert trace.complete
    assert trace.shared == final
    assert trace.lost == lost


def test_trace_records_registers_step_by_step():
    trace = il.run_schedule("ABABAB")
    assert [s.action for s in trace.steps] == ["LOAD", "LOAD", "ADD", "ADD", "STORE", "STORE"]
    assert [s.thread for s in trace.steps] == list("ABABAB")
    assert trace.steps[3].registers == {"A": 1, "B": 1}
    assert [s.shared for s in trace.steps] == [0, 0, 0, 0, 1, 1]
    assert "1 update(s) LOST" in str(trace)


def test_partial_schedule_is_not_finished():
    trace = il.run_schedule("AB")
    assert not trace.complete and trace.lost is None
    assert trace.remaining("A") == 2
    assert "not finished" in str(trace)


def test_exactly_two_of_twenty_schedules_are_safe():
    schedules = il.all_schedules()
    assert len(schedules) == len(set(schedules)) == 20
    assert il.count_outcomes() == {1: 18, 2: 2}


@pytest.mark.parametrize("bad, error, words", [
    ("AXB", ValueError, "'X' at position 2"),
    ("AAAA", ValueError, "only has 3"),
    ("AAABBBB", ValueError, "Step 7 is one too many"),
    (42, TypeError, "string of A's and B's"),
    (None, TypeError, "string of A's and B's"),
])
def test_invalid_schedules_get_a_clear_error(bad, error, words):
    with pytest.raises(error, match=words):
        il.run_schedule(bad)


def test_bad_increments():
    with pytest.raises(ValueError, match="increments"):
        il.run_schedule("AB", increments=0)


def test_more_increments():
    assert il.run_schedule("AAAAAABBBBBB", increments=2).shared == 4
    assert il.run_schedule("ABABABABABAB", increments=2).lost == 2


def test_lock_blocks_the_other_thread():
    trace = il.run_schedule("ABAAAABBBBB", locked=True)
    assert trace.steps[1].action == "ACQUIRE (blocked)"
    assert trace.steps[1].registers["B"] is None
    assert trace.complete and trace.shared == 2


def test_with_a_lock_no_schedule_loses_an_update():
    rng = random.Random(5)
    finished = 0
    for _ in range(300):
        trace = il.run_schedule("", locked=True)
        while not trace.complete:
            choices = [t for t in il.THREADS if trace.remaining(t) > 0]
            thread = rng.choice(choices)
            il._advance(trace, thread)
            trace.schedule += thread
        assert trace.lost == 0, trace.schedule
        assert il.run_schedule(trace.schedule, locked=True).shared == 2
        finished += 1
    assert finished == 300


def test_finished_thread_cannot_step_under_lock():
    with pytest.raises(ValueError, match="already finished"):
        il.run_schedule("AAAAAA", locked=True)


def test_check_lost_update(capsys):
    assert il.check_lost_update("ABABAB")
    assert not il.check_lost_update("AAABBB")
    assert not il.check_lost_update("ABA")
    assert not il.check_lost_update("ABZ")
    assert not il.check_lost_update(...)
    out = capsys.readouterr().out
    assert out.count("Correct!") == 1 and out.count("Not yet.") == 4


def test_explorer_widget_steps_and_runs():
    box = il.explorer()
    for t in "ABABAB":
        box.step(t)
    assert box.trace.lost == 1
    box.run_text("AAABBB")
    assert box.trace.shared == 2 and box.trace.lost == 0
    box.run_text("AQ")
    assert box.trace.steps == []


def test_run_schedule_takes_linear_time_and_caps_the_length():
    import time

    long = "A" + "B" * (il.MAX_SCHEDULE - 9) + "AAAABBBB"
    t0 = time.perf_counter()
    trace = il.run_schedule(long, locked=True)
    assert time.perf_counter() - t0 < 1.0          # quadratic took seconds at this size
    assert len(trace.steps) == len(long)
    with pytest.raises(ValueError, match="at most 1,000 letters"):
        il.run_schedule("AB" * 100_000, locked=True)


def test_run_schedule_button_with_an_empty_box_says_what_to_do():
    box = il.explorer()
    box.step("A")
    box.run_text("   ")
    assert "type a schedule such as AABBAB" in box.children[2].value
    assert len(box.trace.steps) == 1               # the trace is kept, not silently reset

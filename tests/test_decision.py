"""Tests for helpers.decision: the rules, applied to measured speedups, and the printed guide."""

import pytest

from helpers import decision


@pytest.mark.parametrize("threads, processes, ceiling, gil_bound, choice", [
    (0.95, 1.9, 2, True, "processes"),       # pure Python with the GIL
    (1.5, 1.9, 2, True, "processes"),        # a thread reading above 1x with the GIL is noise
    (1.9, 1.9, 2, False, "threads"),         # free-threaded: threads as good, and cheaper
    (3.8, 3.5, 4, False, "threads"),         # waiting
    (1.0, 1.05, 1, True, "one worker"),      # one CPU
    (1.1, 1.15, 2, False, "one worker"),     # below the gain threshold
    (1.3, 2.0, 2, False, "processes"),       # threads gain, but far less than processes
    (9.0, 9.0, 2, False, "threads"),         # readings above the ceiling count as the ceiling
])
def test_recommend(threads, processes, ceiling, gil_bound, choice):
    assert decision.recommend(threads, processes, ceiling, gil_bound) == choice


@pytest.mark.parametrize("bad", [0, -1, "2", None, True])
def test_recommend_refuses_what_is_not_a_speedup(bad):
    with pytest.raises(ValueError, match="speedup"):
        decision.recommend(bad, 1.0, 2)


def test_the_thresholds_are_stated_and_can_be_changed(monkeypatch):
    assert "author" in decision.rules() and "1.2x" in decision.rules()
    monkeypatch.setattr(decision, "GAIN", 2.5)
    assert decision.recommend(1.0, 1.9, 2) == "one worker"
    assert "2.5x" in decision.rules()


def test_the_guide_prints_every_row_with_its_numbers():
    guide = decision.Guide(usable_cpus=2, gil_enabled=True, start_method="spawn")
    assert guide.speed("computing", 2, 0.97, 1.88, gil_bound=True) == "processes"
    assert guide.speed("waiting", 4, 3.9, 3.1, cpu_bound=False) == "threads"
    guide.startup({"thread": 0.0001, "spawn": 0.05})
    guide.chunks(1000, {1: 0.1, 10: 0.02, 100: 0.005})
    guide.add("my row", "measured", "mine")
    text = str(guide)
    assert "2 usable CPU(s), start method spawn, GIL on" in text
    for words in ("2 processes 1.88x (ceiling 2x)", "4 threads 3.90x, 4 processes 3.10x (ceiling 4x)",
                  "spawn 50 ms", "500x a thread", "chunksize 100", "my row"):
        assert words in text
    assert guide.choices == {"computing": "processes", "waiting": "threads"}

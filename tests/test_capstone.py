"""Tests for helpers.capstone: the same corpus for the same seed, sized in seconds, right answer."""

from collections import Counter

import pytest
import workers.lesson07 as w

from helpers import capstone


def test_the_corpus_is_the_same_for_the_same_seed():
    a = capstone.make_corpus(30, 20, seed=5)
    assert a == capstone.make_corpus(30, 20, seed=5)
    assert a != capstone.make_corpus(30, 20, seed=6)
    assert len(a) == 30 and all(len(doc.split()) == 20 for doc in a)


@pytest.mark.parametrize("kwargs, error", [
    ({"n_docs": 0}, ValueError), ({"n_docs": capstone.MAX_DOCS + 1}, ValueError),
    ({"n_docs": "10"}, TypeError), ({"n_docs": True}, TypeError),
    ({"n_docs": 10, "words_per_doc": 0}, ValueError), ({"n_docs": 10, "seed": -1}, ValueError),
])
def test_bad_corpus_sizes_are_refused(kwargs, error):
    with pytest.raises(error):
        capstone.make_corpus(**kwargs)


def test_the_answer_is_the_serial_count_and_is_timed():
    job = capstone.Job(1, 20, capstone.make_corpus(50, 20, seed=1))
    assert job.n_docs == 50 and job.n_words == 1000
    answer = job.answer()
    assert answer == w.count_words(job.docs) and answer.total() == 1000
    assert len(job.serial_times) == 1
    job.time_serial()
    assert len(job.serial_times) == 2 and job.answer() is answer
    assert "1,000 words" in str(job)


def test_make_job_sizes_the_corpus_from_a_timing():
    small, bigger = capstone.make_job(0.05), capstone.make_job(0.4)
    assert 50 <= small.n_docs < bigger.n_docs <= capstone.MAX_DOCS


def test_make_job_refuses_bad_seconds():
    with pytest.raises((ValueError, TypeError)):
        capstone.make_job(-1)


def test_words_are_normalised():
    assert w.count_words(["Counting counted, counts!", "the cat."]) == Counter(
        {"count": 3, "the": 1, "cat": 1})


@pytest.mark.parametrize("n_items, n_chunks", [(10, 3), (3, 5), (0, 2), (7, 1)])
def test_chunks_cover_the_items_once_and_differ_by_at_most_one(n_items, n_chunks):
    items = list(range(n_items))
    chunks = w.split_into_chunks(items, n_chunks)
    assert len(chunks) == n_chunks
    assert [x for c in chunks for x in c] == items
    assert max(map(len, chunks)) - min(map(len, chunks)) <= 1

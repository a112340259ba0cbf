"""Tests for helpers.capstone: the corpus, the reference solutions and the checks."""

from collections import Counter

import pytest

from helpers import capstone, launch


@pytest.fixture(scope="module")
def job():
    return capstone.Job(7, 60, 50, capstone.make_corpus(60, 50, seed=7))


def test_corpus_is_deterministic():
    assert capstone.make_corpus(5, 20, seed=3) == capstone.make_corpus(5, 20, seed=3)
    assert capstone.make_corpus(5, 20, seed=3) != capstone.make_corpus(5, 20, seed=4)
    docs = capstone.make_corpus(4, 25, seed=0)
    assert len(docs) == 4 and all(len(d.split()) == 25 for d in docs)


@pytest.mark.parametrize("n_docs, words", [(0, 10), (10, 0), (10**9, 10), (2.5, 10), (True, 10)])
def test_bad_corpus_sizes(n_docs, words):
    with pytest.raises(ValueError):
        capstone.make_corpus(n_docs, words)


@pytest.mark.parametrize("word, form", [
    ("Counting,", "count"), ("banks.", "bank"), ("is", "is"), ("(Tested)", "test"), ("...", ""),
])
def test_normalise(word, form):
    assert capstone.normalise(word) == form


def test_split_and_merge_cover_every_document(job):
    chunks = capstone.split_into_chunks(job.docs, 7)
    assert sum(chunks, []) == job.docs
    assert max(map(len, chunks)) - min(map(len, chunks)) <= 1
    assert capstone.merge_counts(map(capstone.count_words, chunks)) == job.answer()
    assert len(capstone.split_into_chunks(["a"], 3)) == 3
    with pytest.raises(ValueError):
        capstone.split_into_chunks(job.docs, 0)


def test_reference_solutions_agree(job):
    answer = capstone.count_serially(job.docs)
    assert answer.total() == job.n_words
    assert capstone.count_with_threads(job.docs, 3) == answer
    assert capstone.count_with_processes(job.docs, 2) == answer
    assert capstone.count_with_processes(job.docs, 2, start_method="spawn") == answer
    assert launch.leftover_workers() == []


def test_check_result_accepts_the_right_answer(job, capsys):
    assert capstone.check_result(capstone.count_words(job.docs), job)
    assert capsys.readouterr().out.startswith("Correct!")
    assert capstone.check_result(dict(job.answer()), job)  # a plain dict is fine too


@pytest.mark.parametrize("make, hint", [
    (lambda docs: capstone.count_words(docs[:-3]), "merge the counts"),
    (lambda docs: capstone.count_words(docs + docs[:2]), "more than once"),
    (lambda docs: Counter(w for d in docs for w in d.split()), "normalises"),
    (lambda docs: sorted(capstone.count_words(docs).items()), "Counter"),
    (lambda docs: None, "Replace the ..."),
])
def test_check_result_rejects_wrong_answers_with_a_hint(job, capsys, make, hint):
    assert not capstone.check_result(make(job.docs), job)
    out = capsys.readouterr().out
    assert out.startswith("Not yet.") and hint in out


def test_check_speedup_compares_with_the_reference(capsys):
    ref = capstone.Timings(2, {"serial": [1.0, 1.0, 1.0], "processes": [0.5, 0.5, 0.6]})
    assert ref.speedup("processes") == pytest.approx(2.0)
    assert capstone.check_speedup("processes", [0.55, 0.6, 0.5], ref)
    assert "2.00x" in capsys.readouterr().out
    assert not capstone.check_speedup("processes", 2.0, ref)
    assert "clearly slower" in capsys.readouterr().out
    assert not capstone.check_speedup("processes", [], ref)
    # times of the reference measured just now replace the stored ones
    assert capstone.check_speedup("processes", [1.0], ref, reference_times=[1.1])
    assert "timed in turn with yours: 0.91x" in capsys.readouterr().out
    with pytest.raises(ValueError, match="no timing"):
        capstone.check_speedup("dask", [1.0], ref)
    with pytest.raises(ValueError):
        capstone.check_speedup("fibers", [1.0], ref)


def test_check_solution_does_not_time_a_wrong_answer(job):
    calls = []

    def wrong(docs):
        calls.append(1)
        return capstone.count_words(docs[1:])

    ref = capstone.Timings(2, {"serial": [1.0], "threads": [1.0]})
    assert not capstone.check_solution("threads", wrong, job, ref)
    assert len(calls) == 1


def test_reference_timings_and_make_job():
    job = capstone.make_job(seconds=0.05, seed=1)
    assert job.n_docs >= 50
    timings = capstone.reference_timings(job, n_workers=2, repeats=1)
    assert set(timings.times) == {"serial", "threads", "processes"}
    assert "speedup" in timings.table()
    with pytest.raises(ValueError):
        capstone.make_job(seconds=0)
    with pytest.raises(ValueError):
        capstone.reference_timings(job, repeats=0)
    assert launch.leftover_workers() == []


def test_check_solution_times_the_reference_in_turn_with_yours(job, capsys):
    calls = []
    ref = capstone.Timings(2, {"serial": [1.0], "threads": [1.0]},
                           runs={"threads": lambda: (calls.append("ref"),
                                                     capstone.count_words(job.docs))})

    def mine(docs):
        calls.append("mine")
        return capstone.count_words(docs)

    capstone.check_solution("threads", mine, job, ref, repeats=3)
    assert calls == ["mine", "ref", "ref", "mine", "ref", "mine"]
    assert "timed in turn with yours" in capsys.readouterr().out
    with pytest.raises(ValueError):
        capstone.check_solution("threads", mine, job, ref, repeats=0)


def test_summary_explains_the_numbers(job, monkeypatch):
    monkeypatch.setattr(capstone.system, "usable_cpus", lambda: 2)
    monkeypatch.setattr(capstone.system, "gil_enabled", lambda: True)
    small = capstone.Timings(2, {"serial": [0.3], "threads": [0.28], "processes": [0.33],
                                 "dask": [0.27]})
    mb = sum(map(len, job.docs)) / 1024**2
    text = capstone.summary(small, job)
    assert "dask 1.11x, threads 1.07x, processes 0.91x" in text
    assert "Processes only 0.91x" in text and "beat the process pool" in text
    assert "make_job(seconds=4)" in text
    # with measured costs it can tell a too-small job (spawn: slow starts) ...
    text = capstone.summary(small, job, process_start_s=0.2, pipe_s_per_mb=0.0,
                            scatter_s_per_mb=0.0)
    assert "cost up to about 400 ms" in text and "eat most of the gain" in text
    # ... from a busy machine (cheap starts, yet far below what they allow)
    text = capstone.summary(small, job, process_start_s=0.005, pipe_s_per_mb=0.0,
                            scatter_s_per_mb=0.01 / mb)
    assert "cost up to about 10 ms" in text and "other programs" in text
    big = capstone.Timings(2, {"serial": [1.0], "threads": [1.0], "processes": [0.6]})
    text = capstone.summary(big, job)
    assert "Processes 1.67x of a possible 2x" in text and "make_job" not in text
    noisy = capstone.Timings(2, {"serial": [1.0], "processes": [0.4]})
    assert "cannot be real" in capstone.summary(noisy, job)
    monkeypatch.setattr(capstone.system, "usable_cpus", lambda: 1)
    assert "With 1 usable CPU" in capstone.summary(small, job)

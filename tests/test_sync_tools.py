"""Tests for helpers.sync_tools: the lesson 06 pictures draw what the cells recorded."""

from __future__ import annotations

from matplotlib.figure import Figure

from helpers import sync_tools


def test_draw_in_use_steps_and_limit():
    ax = Figure().subplots()  # no pyplot: nothing global changes
    log = [(10.0, 1), (10.001, 2), (10.002, 3), (10.003, 2), (10.004, 0)]
    sync_tools.draw_in_use(ax, log, limit=3)
    line, limit = ax.get_lines()
    assert list(line.get_ydata()) == [1, 2, 3, 2, 0]
    assert line.get_xdata()[0] == 0 and abs(line.get_xdata()[-1] - 4.0) < 1e-6  # ms
    assert list(limit.get_ydata()) == [3, 3]
    assert "(ms)" in ax.get_xlabel() and ax.get_ylabel()


def test_draw_spans_one_bar_per_span_coloured_by_phase():
    ax = Figure().subplots()
    spans = [(0, 1, 0.0, 0.01), (1, 1, 0.0, 0.02), (0, 2, 0.02, 0.03), (1, 2, 0.02, 0.03)]
    sync_tools.draw_spans(ax, spans, title="with a barrier")
    bars = [p for p in ax.patches if p.get_width() > 0]
    assert len(bars) == 4
    assert bars[0].get_facecolor() != bars[2].get_facecolor()  # phase 1 vs phase 2
    assert abs(bars[1].get_width() - 20.0) < 1e-6  # ms
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["phase 1", "phase 2"]
    assert ax.get_title() == "with a barrier"


def test_draw_nothing_recorded():
    ax = Figure().subplots()
    sync_tools.draw_in_use(ax, [])
    sync_tools.draw_spans(ax, [])
    assert [t.get_text() for t in ax.texts] == ["nothing recorded"] * 2

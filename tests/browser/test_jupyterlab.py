"""Every notebook, run in a real JupyterLab in a real (headless) browser, as a learner runs it.

For each notebooks/*.ipynb (found automatically): open it, Run All Cells, wait until the kernel
is idle, then check that

* every code cell ran (an execution count, no ``[*]``),
* no cell shows an error, except cells tagged ``raises-exception`` (a deliberate lesson).
  JupyterLab 4 renders an exception with the same ``application/vnd.jupyter.stderr`` mime type
  as a warning, so errors are found in the notebook model (``output_type == "error"``) and, as
  a second net, as traceback-shaped stderr text in the page,
* every widget rendered (no "Loading widget..." / "Error displaying widget" left; each widget
  output holds a ``.jupyter-widgets`` element),
* after the kernel is shut down, no process is left below the server.

A full-page screenshot of each notebook goes to test-output/screenshots/<notebook stem>.png
(also when a check fails -- look there first); the time to open and to Run All each notebook
goes to test-output/browser.txt.

Lesson 03's SpeedupPanel is also driven by hand: Run, watch the plot change, Stop, and no worker
process may be left.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import psutil
import pytest
from lab_tools import SCREENSHOTS, discover_notebooks, notebook_dir

NOTEBOOKS = discover_notebooks()
#: Seconds for Run All of one notebook (quick mode), and extra for the very first page load:
#: a cold JupyterLab (and widget manager) load can be slow on a busy 2-CPU machine.
RUN_ALL_LIMIT = 240
FIRST_LOAD_EXTRA = 120
WIDGET_LIMIT = 30
_loads = {"count": 0}
#: notebook stem -> (seconds to open, seconds for Run All), written to test-output/browser.txt
TIMES: dict[str, tuple[float, float]] = {}

SPEEDUP_NOTEBOOK = "03_speedup_and_the_gil.ipynb"
STOP_LIMIT = 3.0  # seconds from clicking Stop to the status saying "stopped"

PANEL_READY = """() => {
  const app = window.jupyterapp;
  const panel = app && app.shell.currentWidget;
  return !!(panel && panel.content && panel.sessionContext && panel.context
            && panel.context.isReady && panel.sessionContext.session
            && panel.sessionContext.session.kernel);
}"""

START_RUN_ALL = """(command) => {
  window.__courseRunAll = 'running';
  window.jupyterapp.commands.execute(command).then(
    () => { window.__courseRunAll = 'done'; },
    (err) => { window.__courseRunAll = 'failed: ' + err; });
}"""

STATE = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const cells = panel.content.widgets.map((cell, index) => {
    const model = cell.model;
    const info = {index, type: model.type, tags: model.getMetadata('tags') || []};
    if (model.type !== 'code') return info;
    info.source = model.sharedModel.getSource();
    info.count = model.executionCount;
    info.prompt = (cell.node.querySelector('.jp-InputPrompt') || {}).innerText || '';
    info.errors = [];
    info.widgetOutputs = 0;
    for (const out of model.outputs.toJSON()) {
      if (out.output_type === 'error') info.errors.push(out.ename + ': ' + out.evalue);
      if (out.data && out.data['application/vnd.jupyter.widget-view+json']) info.widgetOutputs++;
    }
    const nodes = Array.from(cell.node.querySelectorAll('.jp-OutputArea-output'));
    info.renderedWidgets = nodes.filter(n => n.querySelector('.jupyter-widgets')
                                            || n.classList.contains('jupyter-widgets')).length;
    info.stderr = nodes.filter(n => n.getAttribute('data-mime-type') === 'application/vnd.jupyter.stderr')
                       .map(n => n.innerText);
    info.text = nodes.map(n => n.innerText).join('\\n');
    return info;
  });
  const indicator = panel.node.querySelector('.jp-Notebook-ExecutionIndicator');
  const dialog = document.querySelector('.jp-Dialog');
  return {
    runAll: window.__courseRunAll || '',
    status: indicator ? indicator.getAttribute('data-status') : null,
    kernel: panel.sessionContext.session && panel.sessionContext.session.kernel
            && panel.sessionContext.session.kernel.id,
    dialog: dialog ? dialog.innerText : null,
    dirty: panel.context.model.dirty,
    cells,
  };
}"""

#: IPython's traceback header as text: a dashed line, then "SomeError   Traceback (most recent call last)".
TRACEBACK = re.compile(r"^-{20,}\s*\n\s*\S+.*Traceback \(most recent call last\)", re.M)
WIDGET_FAILURES = ("Loading widget...", "Error displaying widget")


def _state(page) -> dict:
    return page.evaluate(STATE)


def open_notebook(page, lab, path: Path, timeout: float) -> None:
    workspace = f"test-{path.stem}-{int(time.time() * 1000)}"
    page.goto(lab.url(path, workspace), timeout=timeout * 1000, wait_until="domcontentloaded")
    page.wait_for_function(PANEL_READY, timeout=timeout * 1000, polling=250)


def run_all(page, timeout: float, command: str = "notebook:run-all-cells") -> dict:
    """Run All Cells; return the notebook state once the run ended and the kernel is idle."""
    page.evaluate(START_RUN_ALL, command)
    deadline = time.monotonic() + timeout
    while True:
        state = _state(page)
        running = [c["index"] for c in state["cells"] if c.get("prompt", "").strip() == "[*]:"]
        if state["dialog"]:
            return state
        if state["runAll"] != "running" and not running and state["status"] in ("idle", None):
            return state
        if time.monotonic() > deadline:
            state["timed_out"] = True
            return state
        time.sleep(0.5)


def wait_for_widgets(page, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        state = _state(page)
        pending = [c for c in state["cells"] if c["type"] == "code"
                   and (c["renderedWidgets"] < c["widgetOutputs"]
                        or any(t in c["text"] for t in WIDGET_FAILURES))]
        if not pending or time.monotonic() > deadline:
            return state
        time.sleep(0.5)


def screenshot(page, name: str) -> Path:
    """A screenshot of the whole notebook: the page is made as tall as the notebook first."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    height = page.evaluate("""() => Math.max(0, ...Array.from(document.querySelectorAll(
        '.jp-NotebookPanel-notebook, .jp-WindowedPanel-outer')).map(n => n.scrollHeight))""")
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": int(min(max(size["height"], height + 160), 16000))})
    page.evaluate("""() => document.querySelectorAll('.jp-WindowedPanel-outer, .jp-NotebookPanel-notebook')
                              .forEach(n => { n.scrollTop = 0; })""")
    page.wait_for_timeout(700)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(size)
    return path


def problems_in(state: dict) -> list[str]:
    """Everything a learner would see as broken, one line each."""
    problems = []
    if state.get("timed_out"):
        problems.append(f"Run All did not finish within {RUN_ALL_LIMIT} s")
    if state["dialog"]:
        problems.append(f"a dialog is open: {state['dialog'][:200]!r}")
    if state["runAll"].startswith("failed"):
        problems.append(f"the Run All command failed: {state['runAll']}")
    for c in state["cells"]:
        if c["type"] != "code":
            continue
        where = f"cell {c['index']} ({c['source'].strip().splitlines()[0][:60] if c['source'].strip() else 'empty'!r})"
        expected_error = "raises-exception" in c["tags"]
        if c["source"].strip() and c["count"] is None:
            problems.append(f"{where} did not run (prompt {c['prompt']!r})")
        if c["errors"] and not expected_error:
            problems.append(f"{where} shows an error: {'; '.join(c['errors'])}")
        if not c["errors"] and not expected_error and any(TRACEBACK.search(t) for t in c["stderr"]):
            problems.append(f"{where} shows a traceback on stderr")
        if c["renderedWidgets"] < c["widgetOutputs"]:
            problems.append(f"{where}: {c['widgetOutputs'] - c['renderedWidgets']} of "
                            f"{c['widgetOutputs']} widget(s) not rendered")
        for text in WIDGET_FAILURES:
            if text in c["text"]:
                problems.append(f"{where} still shows {text!r}")
    return problems


def shut_down(lab, kernel_id: str | None, limit: float = 15.0) -> list[str]:
    """Shut the notebook's kernel down through the REST API; return what is left below the server."""
    if kernel_id:
        try:
            lab.api("DELETE", f"/api/kernels/{kernel_id}", timeout=30)
        except Exception:  # already gone
            pass
    deadline = time.monotonic() + limit
    while True:
        left = [p for p in lab.descendants() if p.status() != psutil.STATUS_ZOMBIE]
        if not left or time.monotonic() > deadline:
            return [" ".join(p.cmdline())[:120] for p in left if p.is_running()]
        time.sleep(0.2)


def _first_load_extra() -> float:
    _loads["count"] += 1
    return FIRST_LOAD_EXTRA if _loads["count"] == 1 else 0.0


@pytest.fixture(scope="module", autouse=True)
def timing_table():
    yield
    if TIMES:
        lines = [f"{'notebook':<40} {'open s':>7} {'run all s':>9}"]
        lines += [f"{name:<40} {o:>7.1f} {r:>9.1f}" for name, (o, r) in sorted(TIMES.items())]
        text = "\n".join(lines) + "\n(JupyterLab in headless Chromium, COURSE_QUICK=1)\n"
        SCREENSHOTS.parent.mkdir(exist_ok=True)
        (SCREENSHOTS.parent / "browser.txt").write_text(text)
        print("\n" + text)


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.course_errors = []
    page.on("pageerror", lambda exc: page.course_errors.append(str(exc)))
    yield page
    context.close()


@pytest.mark.timeout(RUN_ALL_LIMIT + FIRST_LOAD_EXTRA + 180)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_in_jupyterlab(path: Path, lab, page):
    extra = _first_load_extra()
    kernel_id, shot = None, None
    (SCREENSHOTS / f"{path.stem}.png").unlink(missing_ok=True)  # never show a stale one
    try:
        t0 = time.monotonic()
        open_notebook(page, lab, path, timeout=60 + extra)
        t1 = time.monotonic()
        state = run_all(page, RUN_ALL_LIMIT + extra)
        TIMES[path.stem] = (t1 - t0, time.monotonic() - t1)
        kernel_id = state["kernel"]
        state = wait_for_widgets(page, WIDGET_LIMIT + extra)
        shot = screenshot(page, path.stem)
        problems = problems_in(state)
        if not any(c["type"] == "code" for c in state["cells"]):
            problems.append("no code cells found in the page")
    finally:
        if shot is None:  # something above failed: still show what the page looked like
            try:
                screenshot(page, path.stem)
            except Exception:
                pass
        left = shut_down(lab, kernel_id)
    if page.course_errors:
        print(f"JavaScript errors in the page: {page.course_errors[:5]}")
    assert not problems, f"{path.name} in JupyterLab (see {shot}):\n  " + "\n  ".join(problems)
    assert not left, f"processes left below the server after shutting the kernel down: {left}"
    assert state["dirty"], f"{path.name} was saved during the run (autosave must stay off)"


@pytest.mark.timeout(120 + FIRST_LOAD_EXTRA + 180)
def test_error_detector_catches_an_exception(lab, page):
    """The checks above must notice a failing cell (and accept a raises-exception one)."""
    import nbformat

    # Inside the server's root (the notebooks folder's parent), outside notebooks/.
    scratch = notebook_dir().parent / "test-output" / "browser-selfcheck"
    scratch.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell("import warnings; warnings.warn('only a warning')"),
        nbformat.v4.new_code_cell("1 / 0", metadata={"tags": ["raises-exception"]}),
        nbformat.v4.new_code_cell("raise ValueError('deliberate error')"),
        nbformat.v4.new_code_cell("print('never runs')"),
    ]
    path = scratch / "selfcheck.ipynb"
    nbformat.write(nb, path)
    kernel_id = None
    try:
        open_notebook(page, lab, path, timeout=60 + _first_load_extra())
        state = run_all(page, 120)
        kernel_id = state["kernel"]
    finally:
        shut_down(lab, kernel_id)
        path.unlink(missing_ok=True)
    problems = problems_in(state)
    assert any("cell 2" in p and "ValueError: deliberate error" in p for p in problems), problems
    assert any("cell 3" in p and "did not run" in p for p in problems), problems
    assert not any("cell 0" in p or "cell 1" in p for p in problems), problems
    stderr = state["cells"][2]["stderr"]
    assert any(TRACEBACK.search(t) for t in stderr), f"traceback text not recognised: {stderr}"


# --------------------------------------------------------------------------- lesson 03 panel


def _is_helper(proc: psutil.Process) -> bool:
    from helpers.launch import is_multiprocessing_helper

    if not is_multiprocessing_helper(proc):
        return False
    try:  # children of the forkserver inherit its command line but are workers
        parent = proc.parent()
        return parent is None or not is_multiprocessing_helper(parent)
    except psutil.Error:
        return True


def _workers_below(lab, kernel_id: str) -> list[psutil.Process]:
    kernels = [p for p in lab.kernel_processes() if any(kernel_id in a for a in p.cmdline())]
    workers = []
    for kernel in kernels:
        for p in kernel.children(recursive=True):
            try:
                if p.status() != psutil.STATUS_ZOMBIE and not _is_helper(p):
                    workers.append(p)
            except psutil.NoSuchProcess:
                pass
    return workers


PANEL_ROOT = "document.querySelector('.speedup-run').closest('.jp-OutputArea-output')"


def _panel_state(page) -> dict:
    """Status text and plot image of the first SpeedupPanel on the page."""
    return page.evaluate("() => { const root = " + PANEL_ROOT + ";" + """
      const status = root.querySelector('.speedup-status');
      const plot = root.querySelector('.speedup-plot');
      const img = plot && (plot.tagName === 'IMG' ? plot : plot.querySelector('img'));
      return {status: status ? status.innerText.trim().toLowerCase() : null,
              src: img ? img.getAttribute('src') : null};
    }""")


def _set_slider(panel, css: str, value: str) -> bool:
    """Type a value into a slider's readout, as a learner can; False if there is no such slider."""
    readout = panel.locator(f".{css} .widget-readout")
    if readout.count() == 0:
        return False
    readout.first.click()
    readout.first.press("Control+a")
    readout.first.type(value)
    readout.first.press("Enter")
    return True


@pytest.mark.timeout(RUN_ALL_LIMIT + FIRST_LOAD_EXTRA + 240)
def test_speedup_panel_run_and_stop(lab, page):
    path = notebook_dir() / SPEEDUP_NOTEBOOK
    if not path.exists():
        pytest.skip(f"{SPEEDUP_NOTEBOOK} does not exist (yet)")
    extra = _first_load_extra()
    kernel_id = None
    (SCREENSHOTS / f"{path.stem}-panel.png").unlink(missing_ok=True)
    try:
        open_notebook(page, lab, path, timeout=60 + extra)
        # Run the notebook down to the cell that shows the panel ("Run All Above Selected Cell"
        # with the cell after it selected); the test of the whole notebook is done above.
        last = page.evaluate("""() => {
          const notebook = window.jupyterapp.shell.currentWidget.content;
          const index = notebook.widgets.findIndex(c => c.model.type === 'code'
            && c.model.sharedModel.getSource().includes('SpeedupPanel(')
            && !(c.model.getMetadata('tags') || []).includes('raises-exception'));
          if (index < 0 || index + 1 >= notebook.widgets.length) return -1;
          notebook.activeCellIndex = index + 1;
          return index;
        }""")
        if last >= 0:
            state = run_all(page, RUN_ALL_LIMIT + extra, "notebook:run-all-above")
            state["cells"] = state["cells"][: last + 1]
        else:
            state = run_all(page, RUN_ALL_LIMIT + extra)
        kernel_id = state["kernel"]
        assert not problems_in(state), problems_in(state)
        run_button = page.locator(".speedup-run").first
        run_button.wait_for(state="visible", timeout=(WIDGET_LIMIT + extra) * 1000)
        panel = page.locator(".jp-OutputArea-output", has=page.locator(".speedup-run")).first
        for cls in ("speedup-stop", "speedup-status", "speedup-plot"):
            assert panel.locator(f".{cls}").count() > 0, f"the panel has no .{cls} element"
        # The longest run the panel offers (quick mode makes each point short), so that
        # Stop comes while it is still running.
        _set_slider(panel, "speedup-repeats", "100")  # the slider clamps it to its maximum
        _set_slider(panel, "speedup-workers", "100")
        run_button.scroll_into_view_if_needed()
        run_button.click()

        # While running, the live plot must change at least twice.
        sources, saw_running = [], False
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and len(set(sources)) < 3:
            s = _panel_state(page)
            if s["status"] and "running" in s["status"]:
                saw_running = True
                if s["src"] and (not sources or s["src"] != sources[-1]):
                    sources.append(s["src"])
            elif saw_running:
                break  # the run ended by itself
            time.sleep(0.1)
        status = _panel_state(page)["status"]
        assert saw_running, f"the status never said 'running' (it says {status!r})"
        assert len(set(sources)) >= 3, (f"the plot changed {len(set(sources)) - 1} time(s) while "
                                        f"running (expected at least 2); status now {status!r}")

        panel.locator(".speedup-stop").first.click()
        t0 = time.monotonic()
        while time.monotonic() - t0 < STOP_LIMIT + 5:
            status = _panel_state(page)["status"] or ""
            if "stopped" in status:
                break
            time.sleep(0.05)
        took = time.monotonic() - t0
        assert "stopped" in status, f"status after Stop is {status!r}"
        assert took <= STOP_LIMIT, f"'stopped' appeared {took:.1f} s after Stop (limit {STOP_LIMIT} s)"

        time.sleep(3.0)
        left = _workers_below(lab, kernel_id)
        assert not left, f"worker processes still running after Stop: {[p.pid for p in left]}"
    finally:
        screenshot(page, f"{path.stem}-panel")
        shut_down(lab, kernel_id)

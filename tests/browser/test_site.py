"""The course website (``make site``) in a real browser: every page, as a reader sees it.

For each page: it has a title; every image loaded; every internal link points to a
page or file that exists; every widget rendered (no "Loading widget", no raw
``VBox(...)``); no traceback shows except in cells that show an error on purpose
(tagged ``raises-exception``); solution cells are collapsed. A screenshot of each
page goes to ``test-output/site/``.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import threading
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
SITE = Path(os.environ.get("COURSE_SITE_DIR", ROOT / "build" / "site"))
SHOTS = ROOT / "test-output" / "site"
PAGES = sorted(p.relative_to(SITE).as_posix() for p in SITE.glob("*.html")
               if p.name not in ("genindex.html", "search.html")) if SITE.is_dir() else []


@pytest.fixture(scope="module")
def site_url():
    if not (SITE / "index.html").exists():
        message = f"no website at {SITE}: run `make site` first"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(SITE))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join(5)
    server.server_close()


def test_the_site_has_every_lesson_and_the_guides():
    if not SITE.is_dir():
        pytest.skip("no website built")
    names = set(PAGES)
    lessons = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert {f"{n}.html" for n in lessons} <= names
    assert {"index.html", "instructor-guide.html", "glossary.html"} <= names


def internal_target(href: str, page: str) -> Path | None:
    """The file an internal link points to (None for external links and pure anchors)."""
    url = urlparse(href)
    if url.scheme or url.netloc or href.startswith(("mailto:", "#", "javascript:")):
        return None
    path = unquote(urldefrag(url.path)[0])
    if not path:
        return None
    return (SITE / Path(page).parent / path).resolve()


@pytest.mark.parametrize("page_name", PAGES)
def test_page_reads_well(page_name, site_url, browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # The site must work offline: anything not served by the site itself is refused.
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(site_url)
               else route.abort())
    try:
        page.goto(f"{site_url}/{page_name}", wait_until="load", timeout=60_000)
        views = page.locator("script[type='application/vnd.jupyter.widget-view+json']").count()
        if views:  # the widget manager replaces each view script by the widget
            page.wait_for_function(
                "() => document.querySelectorAll('.cell_output .jupyter-widgets').length > 0",
                timeout=30_000)
        page.screenshot(path=str(SHOTS / page_name.replace(".html", ".png")), full_page=True)

        assert page.title().strip(), "the page has no title"
        broken = page.evaluate("""() => [...document.images]
            .filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)""")
        assert broken == [], f"images that did not load: {broken}"

        for href in set(page.eval_on_selector_all("a[href]", "as => as.map(a => a.getAttribute('href'))")):
            target = internal_target(href, page_name)
            if target is not None:
                assert target.exists(), f"broken internal link {href!r}"

        text = page.locator("article").first.inner_text()
        assert "$$" not in text and "\\frac" not in text, "a formula shows as raw LaTeX"

        outputs = page.locator(".cell_output").all_inner_texts()
        joined = "\n".join(outputs)
        assert "Loading widget" not in joined, "a widget did not render"
        assert not re.search(r"^(VBox|HBox|IntSlider|Button|Image)\(", joined, re.M), \
            "a widget shows as raw text"
        if views:
            assert page.locator(".cell_output .jupyter-widgets").count() >= 1

        tracebacks = page.evaluate("""() => [...document.querySelectorAll('.cell_output .output.traceback, .cell_output .output.error')]
            .filter(e => !e.closest('.tag_raises-exception')).map(e => e.innerText.slice(0, 200))""")
        assert tracebacks == [], f"an unexpected traceback shows: {tracebacks}"

        open_solutions = page.evaluate("""() => [...document.querySelectorAll('.tag_solution')]
            .filter(e => { const d = e.querySelector('details'); return !d || d.open; }).length""")
        assert open_solutions == 0, "a solution shows without a click"
        assert errors == [], f"JavaScript errors: {errors}"
    finally:
        page.close()

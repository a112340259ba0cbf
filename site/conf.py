"""Sphinx configuration of the course website (built by ``make site``; see tools/build_site.py)."""

project = "Multiprocessing vs multithreading"
author = "the course authors"
extensions = ["myst_nb"]
html_theme = "sphinx_book_theme"
html_title = "Multiprocessing vs multithreading"
# html_static_path: tools/build_site.py passes the built source's _static folder (-D).
html_theme_options = {
    "show_toc_level": 2,
    "use_download_button": True,
    "home_page_in_toc": True,
}
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
myst_enable_extensions = ["colon_fence", "dollarmath"]
# MathJax is served from the site itself too (tools/build_site.py copies it from site/node_modules).
mathjax_path = "mathjax/tex-chtml.js"
# Loaded first: MathJax 3 settings, with the MathJax 2 call the widget manager makes.
html_js_files = [("mathjax-config.js", {"priority": 100})]
myst_heading_anchors = 3
# The notebooks were executed by tools/build_site.py, which stores each widget's final state.
nb_execution_mode = "off"
# The widget manager is served from the site itself, so pages work offline (no CDN).
nb_ipywidgets_js = {"widgets/embed.js": {}}
suppress_warnings = ["mystnb.unknown_mime_type"]

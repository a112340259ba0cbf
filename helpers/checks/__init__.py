"""Exercise checkers, one module per lesson (``from helpers.checks import lesson05 as checks``).

Each checker runs *your* function -- with many threads, forced switching and
deadlines where that matters -- and prints ``Correct!`` or ``Not yet.`` with a
hint. They are built on :mod:`helpers.checking`, which makes sure that code
which never returns, raises or forgets to join ends with a clear message and
leaves nothing running.
"""

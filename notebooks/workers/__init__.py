"""Process targets for the lessons, one plain file per lesson.

A child process started with ``spawn`` (macOS, Windows) or ``forkserver`` begins
with a fresh Python: it cannot see functions typed into notebook cells, so it
imports its target by module name -- ``workers.lesson05.add_many`` -- from these
files. They are ordinary Python you may read and edit; restart the kernel after
editing so the notebook (and its children) see your change.
"""

"""Fixtures for the hostile tests (the machinery is in kernel_tools.py)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from kernel_tools import Kernel, course_segments, notebook_dir, wait_for


@pytest.fixture(scope="session")
def kernel_spec_dir(tmp_path_factory) -> Path:
    """A kernelspec for *this* interpreter, so no user-level 'python3' spec is picked up."""
    root = tmp_path_factory.mktemp("kernels")
    spec = root / "course-test"
    spec.mkdir()
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "course test kernel",
        "language": "python",
        "interrupt_mode": "signal",
    }))
    return root


@pytest.fixture
def start_kernel(kernel_spec_dir):
    """start_kernel(env_changes) -> Kernel; every kernel is shut down after the test."""
    kernels: list[Kernel] = []

    def start(env_changes: dict | None = None, cwd: Path | None = None) -> Kernel:
        env = dict(os.environ)
        for key, value in (env_changes or {}).items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        kernel = Kernel(kernel_spec_dir, env, cwd or notebook_dir())
        kernels.append(kernel)
        return kernel

    yield start
    for kernel in kernels:
        kernel.shutdown()


@pytest.fixture
def no_new_segments():
    """Fails the test if it leaves a /dev/shm/course_* segment behind."""
    before = course_segments()
    yield
    wait_for(lambda: not (course_segments() - before), 3)
    left = course_segments() - before
    assert not left, f"shared-memory segments left behind: {sorted(left)}"

"""Tools for the hostile tests: a real Jupyter kernel, its process tree, its memory.

Each test gets a fresh kernel (the same ipykernel a learner's JupyterLab starts, from this
Python), runs cells in it the way the notebook front end does, and shuts it down at the end,
killing its whole process group if it does not go quietly.
"""

from __future__ import annotations

import os
import queue
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

from helpers.launch import is_multiprocessing_helper

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "test-output"
SHM_DIR = Path("/dev/shm")


def notebook_dir() -> Path:
    """Where the notebooks are: notebooks/, or COURSE_NOTEBOOK_DIR (to try the tests elsewhere)."""
    return Path(os.environ.get("COURSE_NOTEBOOK_DIR", ROOT / "notebooks")).resolve()


def discover_notebooks() -> list[Path]:
    return sorted(notebook_dir().glob("*.ipynb"))


def course_segments() -> set[str]:
    if not SHM_DIR.is_dir():
        return set()
    return {p.name for p in SHM_DIR.iterdir() if p.name.startswith("course_")}


def is_helper(proc: psutil.Process) -> bool:
    """multiprocessing's forkserver or resource tracker -- but not a worker *forked by* the forkserver.

    A forkserver's children inherit its command line, so ``is_multiprocessing_helper`` alone
    would take them for helpers too; a helper is never the child of another helper.
    """
    if not is_multiprocessing_helper(proc):
        return False
    try:
        parent = proc.parent()
    except psutil.Error:
        return True
    return parent is None or not is_multiprocessing_helper(parent)


def workers_of(pid: int) -> list[psutil.Process]:
    """Living descendants of ``pid``, without multiprocessing's forkserver / resource tracker."""
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    alive = []
    for child in children:
        try:
            if child.status() != psutil.STATUS_ZOMBIE and not is_helper(child):
                alive.append(child)
        except psutil.NoSuchProcess:
            pass
    return alive


def wait_for(predicate, timeout: float, interval: float = 0.05):
    """Poll ``predicate`` until it returns something truthy, or ``timeout`` s pass (returns it)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def new_kernel_manager(kernel_spec_dir: Path) -> KernelManager:
    return KernelManager(kernel_name="course-test",
                         kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernel_spec_dir)]))


@dataclass
class CellResult:
    status: str  # "ok" | "error" | "timeout"
    ename: str = ""
    evalue: str = ""
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0
    outputs: list = field(default_factory=list)


class Kernel:
    """A running kernel plus a simple 'run this cell' on top of its client."""

    def __init__(self, kernel_spec_dir: Path, env: dict, cwd: Path):
        self.km = new_kernel_manager(kernel_spec_dir)
        self.km.start_kernel(env=env, cwd=str(cwd))
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)

    @property
    def pid(self) -> int:
        return self.km.provisioner.pid

    def submit(self, code: str) -> str:
        return self.kc.execute(code, store_history=False)

    def collect(self, msg_id: str, timeout: float) -> CellResult:
        """Read output of ``msg_id`` until the kernel is idle again (or ``timeout`` s pass)."""
        result = CellResult(status="timeout")
        t0 = time.monotonic()
        deadline = t0 + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                result.seconds = time.monotonic() - t0
                return result
            try:
                msg = self.kc.get_iopub_msg(timeout=min(left, 1.0))
            except queue.Empty:
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                if content["name"] == "stdout":
                    result.stdout += content["text"]
                else:
                    result.stderr += content["text"]
            elif kind == "error":
                result.ename, result.evalue = content["ename"], content["evalue"]
            elif kind in ("execute_result", "display_data"):
                result.outputs.append(content["data"])
            elif kind == "status" and content["execution_state"] == "idle":
                result.status = "error" if result.ename else "ok"
                result.seconds = time.monotonic() - t0
                return result

    def run(self, code: str, timeout: float = 120) -> CellResult:
        return self.collect(self.submit(code), timeout)

    def shutdown(self) -> None:
        pid = None
        try:
            pid = self.pid
            pgid = os.getpgid(pid)
        except Exception:
            pgid = None
        try:
            self.kc.stop_channels()
        except Exception:
            pass
        try:
            self.km.shutdown_kernel(now=False)
        except Exception:
            pass
        # Whatever survived (it should be nothing): kill the kernel's process group.
        if pgid is not None and pgid != os.getpgid(0):
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if pid is not None:
            try:
                psutil.Process(pid).wait(5)
            except (psutil.NoSuchProcess, psutil.TimeoutExpired, ChildProcessError):
                pass

"""Tools for the browser tests: a real JupyterLab server and a headless Chromium.

The server runs from this Python's environment (.venv) on 127.0.0.1 and a free port, with a
random token and private config/data/runtime/settings/workspace directories, so nothing of the
machine's own Jupyter set-up leaks in and nothing is left behind. Kernels get COURSE_QUICK=1.

Chromium is Debian's (/usr/bin/chromium, or $CHROMIUM), driven through Playwright. Without a
browser the tests are skipped -- unless REQUIRE_BROWSER=1 (CI), where that is a failure.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "test-output"
SCREENSHOTS = OUTPUT / "screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
#: JupyterLab settings for the test server: no news pop-up over the notebook; every cell kept
#: in the page (no virtual scrolling), so the checks and the screenshots see the whole notebook;
#: no autosave, so a run never writes outputs into the stored notebooks.
LAB_OVERRIDES = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension:plugin": {"autosave": False},
}


def notebook_dir() -> Path:
    """Where the notebooks are: notebooks/, or COURSE_NOTEBOOK_DIR (to try the tests elsewhere)."""
    return Path(os.environ.get("COURSE_NOTEBOOK_DIR", ROOT / "notebooks")).resolve()


def discover_notebooks() -> list[Path]:
    return sorted(notebook_dir().glob("*.ipynb"))


def browser_missing(reason: str):
    """Skip -- or, with REQUIRE_BROWSER=1, fail -- because the browser cannot run."""
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def kill_tree(procs: list[psutil.Process], grace: float = 5.0) -> None:
    """Terminate, wait, then kill every process in ``procs`` that is still alive."""
    alive = [p for p in procs if p.is_running()]
    for p in alive:
        try:
            p.terminate()
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(alive, timeout=grace)
    for p in alive:
        try:
            p.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(alive, timeout=grace)


@dataclass
class LabServer:
    process: subprocess.Popen
    port: int
    token: str
    root: Path
    log: Path
    seen: dict[int, psutil.Process] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: Path, workspace: str) -> str:
        """JupyterLab opened on one notebook, in a fresh workspace (no tabs from earlier tests)."""
        rel = path.resolve().relative_to(self.root).as_posix()
        return f"{self.base}/lab/workspaces/{workspace}/tree/{rel}?token={self.token}"

    def api(self, method: str, path: str, timeout: float = 10):
        request = urllib.request.Request(
            f"{self.base}{path}", method=method,
            headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None

    def descendants(self) -> list[psutil.Process]:
        """Everything below the server (kernels and their workers); remembered for teardown."""
        try:
            procs = psutil.Process(self.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        for p in procs:
            self.seen.setdefault(p.pid, p)
        return procs

    def kernel_processes(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.pid).children()
        except psutil.NoSuchProcess:
            return []

    def shutdown_kernels(self) -> None:
        """Shut every kernel down through the REST API (as the "Shut Down Kernel" menu does)."""
        try:
            for kernel in self.api("GET", "/api/kernels"):
                try:
                    self.api("DELETE", f"/api/kernels/{kernel['id']}", timeout=30)
                except urllib.error.HTTPError as exc:
                    if exc.code != 404:
                        raise
        except (urllib.error.URLError, OSError):
            pass

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def _start_server(tmp: Path) -> LabServer:
    dirs = {name: tmp / name for name in
            ("config", "data", "runtime", "user-settings", "workspaces", "app-settings")}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    (dirs["app-settings"] / "overrides.json").write_text(json.dumps(LAB_OVERRIDES, indent=2))

    root = notebook_dir().parent
    env = dict(os.environ)
    env.update({
        "JUPYTER_CONFIG_DIR": str(dirs["config"]),
        "JUPYTER_DATA_DIR": str(dirs["data"]),
        "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]),
        "JUPYTERLAB_SETTINGS_DIR": str(dirs["user-settings"]),
        "JUPYTERLAB_WORKSPACES_DIR": str(dirs["workspaces"]),
        "JUPYTER_PLATFORM_DIRS": "1",
        "COURSE_QUICK": "1",
        "PYTHONUNBUFFERED": "1",
    })
    env.pop("MPLBACKEND", None)  # plots inline, as a learner sees them
    env.pop("JUPYTER_TOKEN", None)

    lab = Path(sys.executable).parent / "jupyter-lab"
    OUTPUT.mkdir(exist_ok=True)
    log = OUTPUT / "jupyter-server.log"
    last_error = ""
    for _attempt in range(3):  # the free port can be taken between choosing and binding it
        port, token = free_port(), secrets.token_hex(24)
        cmd = [str(lab), "--no-browser", "--ip=127.0.0.1", f"--port={port}",
               "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
               f"--ServerApp.root_dir={root}",
               f"--LabApp.app_settings_dir={dirs['app-settings']}",
               "--LabApp.news_url=None",
               "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate",
               "--LabApp.expose_app_in_browser=True"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        with open(log, "wb") as out:
            proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        server = LabServer(proc, port, token, root, log)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                server.api("GET", "/api/status", timeout=2)
                return server
            except (urllib.error.URLError, OSError, ValueError):
                time.sleep(0.25)
        last_error = server.log_tail()
        _stop_server(server)
    pytest.fail(f"JupyterLab did not start; end of its log:\n{last_error}", pytrace=False)


def _stop_server(server: LabServer) -> None:
    if server.process.poll() is None:
        server.descendants()
        server.shutdown_kernels()
        server.descendants()
        server.process.send_signal(signal.SIGTERM)  # graceful: it shuts down its kernels
        try:
            server.process.wait(15)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(server.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            server.process.wait(5)
    kill_tree(list(server.seen.values()))

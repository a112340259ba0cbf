"""Beyond one machine with Dask distributed: where the scheduler is, and its dashboard link.

The lesson starts the cluster in a cell (``LocalCluster`` + ``Client``); this
module only answers two questions around it:

* which scheduler to use -- :func:`scheduler_from_environment` reads
  ``$COURSE_DASK_SCHEDULER`` (e.g. ``tcp://10.0.0.5:8786``) and checks it; None
  means "start a local cluster on 127.0.0.1";
* where the scheduler's **dashboard** is -- :func:`dashboard_link` gives a link
  that works on a laptop (``http://127.0.0.1:PORT/status``) and behind
  JupyterHub or Binder, where the browser cannot reach the kernel's ports and
  ``jupyter-server-proxy`` forwards them: ``{JUPYTERHUB_SERVICE_PREFIX}proxy/PORT/status``.
"""

from __future__ import annotations

import importlib.util
import os
from urllib.parse import urlparse

__all__ = ["SCHEDULER_ENV", "LOOPBACK", "check_scheduler_address", "scheduler_from_environment",
           "dashboard_link", "show_dashboard"]

SCHEDULER_ENV = "COURSE_DASK_SCHEDULER"
#: The only host the lesson's local cluster listens on: nothing reachable from the network.
LOOPBACK = "127.0.0.1"
#: Set by JupyterHub (and Binder) in the kernel's environment, e.g. ``/user/ada/``.
HUB_PREFIX_ENV = "JUPYTERHUB_SERVICE_PREFIX"


def check_scheduler_address(address: object) -> str:
    """Return ``address`` stripped, or raise a clear error unless it looks like ``tcp://host:port``."""
    if not isinstance(address, str) or not address.strip():
        raise ValueError(f"A scheduler address is text like 'tcp://10.0.0.5:8786', not {address!r}.")
    address = address.strip()
    protocol, sep, rest = address.partition("://")
    host, colon, port = rest.rpartition(":")
    if (not sep or protocol not in ("tcp", "tls") or not colon or not host
            or not port.isdigit() or not 0 < int(port) < 65536):
        raise ValueError(
            f"{address!r} is not a scheduler address. It looks like 'tcp://10.0.0.5:8786': "
            f"the protocol (tcp or tls), the scheduler's host name or IP address, and its port "
            f"(8786 by default).")
    return address


def scheduler_from_environment() -> str | None:
    """The scheduler address in ``$COURSE_DASK_SCHEDULER``, checked, or None if it is not set."""
    value = os.environ.get(SCHEDULER_ENV, "").strip()
    return check_scheduler_address(value) if value else None


def dashboard_link(client, environ: dict | None = None) -> str | None:
    """The address of the scheduler's dashboard (task stream, progress, workers), or None.

    None means the scheduler runs no dashboard (it needs the ``bokeh`` package).
    Behind JupyterHub/Binder (``$JUPYTERHUB_SERVICE_PREFIX`` set) the link goes
    through ``jupyter-server-proxy``: ``{prefix}proxy/{port}/status``.
    """
    environ = os.environ if environ is None else environ
    port = client.scheduler_info().get("services", {}).get("dashboard")
    if not port:
        return None
    prefix = environ.get(HUB_PREFIX_ENV, "").strip()
    if prefix:
        return f"{prefix.rstrip('/')}/proxy/{port}/status"
    host = urlparse(client.scheduler.address).hostname or LOOPBACK
    if ":" in host:  # an IPv6 address goes in brackets
        host = f"[{host}]"
    return f"http://{host}:{port}/status"


def show_dashboard(client) -> None:
    """Print (and show as a clickable link) where the dashboard is, or why there is none."""
    link = dashboard_link(client)
    no_bokeh = importlib.util.find_spec("bokeh") is None
    if link is None:
        why = ("the 'bokeh' package is not installed here" if no_bokeh
               else "the scheduler started none")
        print(f"No dashboard: {why}. Everything else works without it.")
        return
    print(f"Dashboard: {link}\n  open it in a new tab: its 'Task Stream' draws one bar per task, "
          f"one row per worker thread, while they run")
    if no_bokeh:
        print("  Its pages need the 'bokeh' package, which is not installed here: "
              "pip install bokeh, then restart the kernel.")
    if os.environ.get(HUB_PREFIX_ENV):
        print("  (through jupyter-server-proxy, which JupyterHub and Binder need installed in "
              "the server's environment)")
    try:
        from IPython.display import HTML, display

        display(HTML(f'<a href="{link}" target="_blank">Open the Dask dashboard</a>'))
    except ImportError:  # outside IPython the printed line is enough
        pass

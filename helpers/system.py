"""What this computer offers to parallel Python code.

The number printed on the box (logical CPUs) is often *not* the number of CPUs
your program may use: an affinity mask (``taskset``), a container's CPU quota
(Binder, Docker, Kubernetes) or a batch scheduler can all allow fewer.
:func:`usable_cpus` takes the smallest of them, and every lesson plots its
speedup ceiling from it, never from a hard-coded number.

Two environment variables change how the course runs, without editing any
notebook:

- ``COURSE_START_METHOD`` -- ``fork``, ``spawn`` or ``forkserver``: the start
  method the helpers use for processes (the default is the platform's).
- ``COURSE_QUICK=1``     -- shrink every workload, for fast test runs.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import platform
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

START_METHOD_ENV = "COURSE_START_METHOD"
QUICK_ENV = "COURSE_QUICK"


def logical_cpus() -> int:
    """Logical CPUs the operating system reports (hardware threads)."""
    return os.cpu_count() or 1


def physical_cores() -> int | None:
    """Physical cores, or None where the OS does not say."""
    return psutil.cpu_count(logical=False)


def affinity_cpus() -> list[int] | None:
    """The CPU numbers this process is allowed to run on, or None if the OS cannot say.

    Linux has ``os.sched_getaffinity``; Windows and some BSDs expose it through
    psutil; macOS has no affinity at all (returns None).
    """
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    try:
        return sorted(psutil.Process().cpu_affinity())
    except (AttributeError, NotImplementedError, psutil.Error):
        return None


def cgroup_cpu_limit(root: str | Path = "/sys/fs/cgroup") -> float | None:
    """CPUs allowed by a container quota (cgroup v2 ``cpu.max`` or v1 cfs files), or None.

    ``cpu.max`` holds ``"<quota> <period>"`` in microseconds; ``max`` means no
    limit. A quota of 100000 per 100000 is one CPU's worth of time.
    """
    root = Path(root)
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
        if quota != "max":
            return int(quota) / int(period)
        return None
    except (OSError, ValueError):
        pass
    try:  # cgroup v1
        quota = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period = int((root / "cpu" / "cpu.cfs_period_us").read_text())
        if quota > 0 and period > 0:
            return quota / period
    except (OSError, ValueError):
        pass
    return None


def usable_cpus() -> int:
    """How many CPUs this process can really keep busy at once (at least 1).

    The smallest of: the logical CPU count, the affinity set, and a
    container's CPU quota rounded up.
    """
    candidates = [logical_cpus()]
    if hasattr(os, "process_cpu_count"):  # Python 3.13+
        candidates.append(os.process_cpu_count() or 1)
    allowed = affinity_cpus()
    if allowed:
        candidates.append(len(allowed))
    quota = cgroup_cpu_limit()
    if quota:
        candidates.append(max(1, math.ceil(quota)))
    return max(1, min(candidates))


def memory_total() -> int:
    """Physical memory in bytes."""
    return psutil.virtual_memory().total


def memory_limit(root: str | Path = "/sys/fs/cgroup") -> int:
    """Memory this process may use in bytes: a container limit if one is set, else physical memory."""
    root = Path(root)
    for name in ("memory.max", "memory/memory.limit_in_bytes"):
        try:
            text = (root / name).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < memory_total():
            return int(text)
    return memory_total()


def memory_available() -> int:
    """Memory in bytes that can be allocated now without swapping (within the limit)."""
    return min(psutil.virtual_memory().available, memory_limit())


def start_methods() -> list[str]:
    """Process start methods this platform supports (e.g. fork, spawn, forkserver)."""
    return mp.get_all_start_methods()


def platform_default_start_method() -> str:
    """The start method Python uses here when nobody chooses one."""
    return mp.get_start_method(allow_none=True) or mp.get_all_start_methods()[0]


def course_start_method() -> str:
    """The start method the helpers use: ``$COURSE_START_METHOD`` if set, else the platform default.

    Raises ValueError with a plain explanation if the variable names a method
    this platform does not have.
    """
    wanted = os.environ.get(START_METHOD_ENV, "").strip()
    if not wanted:
        return platform_default_start_method()
    if wanted not in start_methods():
        raise ValueError(
            f"{START_METHOD_ENV}={wanted!r}, but this platform only offers "
            f"{', '.join(start_methods())}. Unset the variable or pick one of those."
        )
    return wanted


def quick_mode() -> bool:
    """True when ``COURSE_QUICK=1``: workloads shrink so the test suite runs fast."""
    return os.environ.get(QUICK_ENV, "").strip() not in ("", "0", "false", "no")


def gil_enabled() -> bool:
    """True if this Python runs with the Global Interpreter Lock.

    Free-threaded builds (3.13t, 3.14t) can run without it; there
    ``sys._is_gil_enabled()`` says whether it was switched back on.
    """
    check = getattr(sys, "_is_gil_enabled", None)
    return True if check is None else bool(check())


def free_threaded_build() -> bool:
    """True if this interpreter was built without the GIL (a 't' build such as 3.13t)."""
    import sysconfig

    return bool(sysconfig.get_config_var("Py_GIL_DISABLED"))


def thread_status(pid: int, tid: int | None = None) -> tuple[int, bool] | None:
    """(CPU core, running?) for one thread, or None where the OS does not tell (not Linux, or gone).

    On Linux this reads ``/proc/<pid>/task/<tid>/stat``: field 3 is the state
    ('R' = running or ready to run, 'S' = sleeping/waiting, e.g. for the GIL)
    and field 39 the CPU the thread last ran on.
    """
    tid = pid if tid is None else tid
    try:
        with open(f"/proc/{pid}/task/{tid}/stat", "rb") as f:
            text = f.read()
    except OSError:
        return None
    # The command name (field 2) may contain spaces: split after its closing ')'.
    fields = text[text.rfind(b")") + 2 :].split()
    try:
        return int(fields[36]), fields[0] == b"R"  # fields here start at field 3
    except (IndexError, ValueError):
        return None


def thread_cpu_seconds(pid: int, tid: int | None = None) -> float | None:
    """CPU time a thread has used so far, in seconds (Linux ``/proc/<pid>/task/<tid>/schedstat``), or None."""
    tid = pid if tid is None else tid
    try:
        with open(f"/proc/{pid}/task/{tid}/schedstat", "rb") as f:
            return int(f.read().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        return None


def current_cpu(pid: int, tid: int | None = None) -> int | None:
    """The CPU core a thread is running on (or last ran on), or None where the OS does not tell."""
    status = thread_status(pid, tid)
    return None if status is None else status[0]


@dataclass(frozen=True)
class MachineReport:
    """A snapshot of this machine, as the course sees it."""

    python: str
    implementation: str
    os: str
    machine: str
    logical_cpus: int
    physical_cores: int | None
    affinity: list[int] | None
    cgroup_cpu_quota: float | None
    usable_cpus: int
    memory_total_gb: float
    memory_limit_gb: float
    memory_available_gb: float
    start_methods: list[str]
    platform_default_start_method: str
    course_start_method: str
    gil_enabled: bool
    free_threaded_build: bool
    quick_mode: bool

    def as_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        gb = "{:.1f} GB".format
        allowed = "not reported by this OS" if self.affinity is None else _ranges(self.affinity)
        quota = "none" if self.cgroup_cpu_quota is None else f"{self.cgroup_cpu_quota:g} CPUs"
        lines = [
            ("Python", f"{self.python} ({self.implementation}) on {self.os} {self.machine}"),
            ("Logical CPUs", str(self.logical_cpus)),
            ("Physical cores", str(self.physical_cores or "not reported")),
            ("CPUs allowed (affinity)", allowed),
            ("Container CPU quota", quota),
            ("Usable CPUs", f"{self.usable_cpus}   <- the ceiling for every speedup in this course"),
            ("Memory", f"{gb(self.memory_total_gb)} total, limit {gb(self.memory_limit_gb)}, "
                       f"{gb(self.memory_available_gb)} available"),
            ("Start methods", ", ".join(self.start_methods)),
            ("Default start method", self.platform_default_start_method),
            ("Course start method", self.course_start_method),
            ("GIL", "enabled" if self.gil_enabled else "DISABLED (free-threaded)"),
            ("Quick mode", "on (small workloads)" if self.quick_mode else "off"),
        ]
        width = max(len(k) for k, _ in lines)
        return "\n".join(f"{k:<{width}} : {v}" for k, v in lines)


def _ranges(cpus: list[int]) -> str:
    """Format [0, 1, 2, 5] as '0-2, 5'."""
    parts, start = [], None
    for i, c in enumerate(cpus):
        if start is None:
            start = c
        if i + 1 == len(cpus) or cpus[i + 1] != c + 1:
            parts.append(f"{start}" if start == c else f"{start}-{c}")
            start = None
    return ", ".join(parts)


def machine_report() -> MachineReport:
    """Collect everything above into one :class:`MachineReport` (print it to read it)."""
    gib = 1024**3
    return MachineReport(
        python=platform.python_version(),
        implementation=platform.python_implementation(),
        os=platform.system(),
        machine=platform.machine(),
        logical_cpus=logical_cpus(),
        physical_cores=physical_cores(),
        affinity=affinity_cpus(),
        cgroup_cpu_quota=cgroup_cpu_limit(),
        usable_cpus=usable_cpus(),
        memory_total_gb=memory_total() / gib,
        memory_limit_gb=memory_limit() / gib,
        memory_available_gb=memory_available() / gib,
        start_methods=start_methods(),
        platform_default_start_method=platform_default_start_method(),
        course_start_method=course_start_method(),
        gil_enabled=gil_enabled(),
        free_threaded_build=free_threaded_build(),
        quick_mode=quick_mode(),
    )

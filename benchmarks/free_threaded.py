"""Threads and processes on the regular CPython 3.13 and on the free-threaded 3.13t, one run.

    .venv/bin/python benchmarks/free_threaded.py [--repeats 5] [--n 4000000]

The same CPU-bound pure-Python job (a loop of integer arithmetic, ``--n`` iterations in all,
split evenly between the workers) runs with 1 and 2 workers on:

* the regular 3.13 (``.venv313``, else python3.13 found as the Makefile finds it): threads, processes;
* 3.13t with ``PYTHON_GIL=0``: threads, processes;
* 3.13t with ``PYTHON_GIL=1`` (the GIL forced back on): threads.

Each measurement is a fresh interpreter (a subprocess) running a small timing script; the repeats
are interleaved (every configuration once, then again, ...) so a busy moment on the machine hits
all of them alike, and the medians are reported. Processes come from a pool started and warmed
up before the clock starts, so their start-up cost is not in the time. Printed: the median times,
the speedup of 2 workers over 1 for each, and the single-thread time of 3.13t over 3.13.

It also counts the updates lost by a bare ``obj.v += 1`` in 4 threads x 200,000 on 3.13t with the
GIL off and on. The free-threaded interpreter is .venvft's, else tools/free_threaded_python.sh
--find-only's; PYTHON313=... and PYTHON_FT=... choose others.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

TIMING = r'''
import json, sys, threading, time

def job(n):
    total = 0
    for i in range(n):
        total += i * i % 7
    return total

def in_threads(workers, n):
    threads = [threading.Thread(target=job, args=(n // workers,)) for _ in range(workers)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start

def in_processes(workers, n):
    import multiprocessing as mp
    method = "fork" if sys.platform == "linux" else "spawn"
    with mp.get_context(method).Pool(workers) as pool:
        pool.map(job, [1] * workers)  # every worker started and ready
        start = time.perf_counter()
        pool.map(job, [n // workers] * workers, chunksize=1)
        return time.perf_counter() - start

if __name__ == "__main__":
    kind, workers, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    run = in_threads if kind == "threads" else in_processes
    seconds = run(workers, n)
    gil = getattr(sys, "_is_gil_enabled", lambda: True)()
    print(json.dumps({"seconds": seconds, "gil": gil}))
'''

LOST_UPDATES = r'''
import json, sys, threading

class Counter:
    v = 0

def bump(obj, times, start):
    start.wait()
    for _ in range(times):
        obj.v += 1

if __name__ == "__main__":
    threads_n, times = int(sys.argv[1]), int(sys.argv[2])
    obj, start = Counter(), threading.Event()
    threads = [threading.Thread(target=bump, args=(obj, times, start)) for _ in range(threads_n)]
    for t in threads:
        t.start()
    start.set()
    for t in threads:
        t.join()
    print(json.dumps({"lost": threads_n * times - obj.v, "gil": sys._is_gil_enabled()}))
'''


def runs(python: str) -> bool:
    try:
        return subprocess.run([python, "-c", ""], capture_output=True).returncode == 0
    except OSError:
        return False


def info(python: str) -> dict:
    code = ("import json, sys, sysconfig; print(json.dumps({'version': sys.version.split()[0], "
            "'minor': list(sys.version_info[:2]), "
            "'ft': bool(sysconfig.get_config_var('Py_GIL_DISABLED'))}))")
    out = subprocess.run([python, "-c", code], capture_output=True, text=True,
                         env=clean_env(), check=True).stdout
    return json.loads(out)


def clean_env(**extra: str) -> dict:
    """The environment without PYTHON_GIL (a regular 3.13 refuses PYTHON_GIL=0), plus extra."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHON_GIL"}
    env.update(extra)
    return env


def find_regular_313() -> str | None:
    candidates = [os.environ.get("PYTHON313", ""), str(ROOT / ".venv313" / "bin" / "python"),
                  shutil.which("python3.13") or ""]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.13*/bin/python3.13")))
    for python in filter(None, candidates):
        if runs(python):
            about = info(python)
            if about["minor"] == [3, 13] and not about["ft"]:
                return python
    return None


def find_free_threaded() -> str | None:
    candidates = [os.environ.get("PYTHON_FT", ""), str(ROOT / ".venvft" / "bin" / "python")]
    for python in filter(None, candidates):
        if runs(python) and info(python)["ft"]:
            return python
    found = subprocess.run(["bash", str(ROOT / "tools" / "free_threaded_python.sh"), "--find-only"],
                           capture_output=True, text=True)
    lines = found.stdout.split()
    return lines[-1] if found.returncode == 0 and lines else None


def measure(python: str, script: Path, args: list[str], env: dict) -> dict:
    proc = subprocess.run([python, str(script), *args], capture_output=True, text=True, env=env)
    if proc.returncode:
        raise SystemExit(f"{python} {script.name} {' '.join(args)} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--n", type=int, default=4_000_000, help="loop iterations in all")
    parser.add_argument("--lost-runs", type=int, default=5)
    parser.add_argument("--save", metavar="JSON", help="also write the results to this file "
                        "(lesson 03 shows notebooks/data/free_threaded_reference.json)")
    args = parser.parse_args()

    regular, free = find_regular_313(), find_free_threaded()
    if not regular or not free:
        missing = " and ".join(name for name, p in (("a regular python3.13", regular),
                                                    ("a free-threaded python3.13t", free)) if not p)
        print(f"needs {missing} (make notebooks-py313 / make python-ft, or PYTHON313= / PYTHON_FT=)")
        return 1
    r_info, f_info = info(regular), info(free)
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor()) if Path("/proc/cpuinfo").exists() else platform.processor()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    print(f"machine: {os.cpu_count()} CPUs ({usable} usable), {cpu}; load average {load:.1f}")
    if load > 0.5 * usable:
        print("WARNING: the machine is busy; 2 workers cannot show their speedup while other "
              "jobs take the CPUs")
    print(f"3.13 : {regular} ({r_info['version']})")
    print(f"3.13t: {free} ({f_info['version']}, free-threaded)")
    print(f"job: {args.n:,} loop iterations split between the workers; "
          f"{args.repeats} interleaved repeats, medians\n")

    configs = []  # (label, python, kind, env)
    for kind in ("threads", "processes"):
        configs.append((f"3.13  {kind}", regular, kind, clean_env()))
    for kind in ("threads", "processes"):
        configs.append((f"3.13t {kind} PYTHON_GIL=0", free, kind, clean_env(PYTHON_GIL="0")))
    configs.append(("3.13t threads PYTHON_GIL=1", free, "threads", clean_env(PYTHON_GIL="1")))

    times: dict[tuple[str, int], list[float]] = {}
    gil_seen: dict[str, set] = {}
    with tempfile.TemporaryDirectory() as tmp:
        timing = Path(tmp) / "timing.py"
        timing.write_text(TIMING)
        lost_script = Path(tmp) / "lost_updates.py"
        lost_script.write_text(LOST_UPDATES)
        for _ in range(args.repeats):
            for label, python, kind, env in configs:
                for workers in (1, 2):
                    result = measure(python, timing, [kind, str(workers), str(args.n)], env)
                    times.setdefault((label, workers), []).append(result["seconds"])
                    gil_seen.setdefault(label, set()).add(result["gil"])

        med = {key: statistics.median(values) for key, values in times.items()}
        print(f"{'':30} {'1 worker':>10} {'2 workers':>10} {'speedup 2/1':>12}  GIL")
        for label, *_ in configs:
            one, two = med[(label, 1)], med[(label, 2)]
            gil = "on" if gil_seen[label] == {True} else "off" if gil_seen[label] == {False} else "mixed"
            print(f"{label:30} {one:9.3f}s {two:9.3f}s {one / two:11.2f}x  {gil}")
        single = med[("3.13t threads PYTHON_GIL=0", 1)] / med[("3.13  threads", 1)]
        print(f"\nsingle thread, 3.13t (GIL off) / 3.13: {single:.2f}x the time")
        best_regular = min(med[("3.13  threads", 2)], med[("3.13  processes", 2)])
        print(f"2 threads on 3.13t (GIL off) vs the best 2-worker run on 3.13: "
              f"{best_regular / med[('3.13t threads PYTHON_GIL=0', 2)]:.2f}x the speed")

        threads_n, each = 4, 200_000
        print(f"\nbare obj.v += 1 in {threads_n} threads x {each:,} on 3.13t "
              f"({args.lost_runs} runs; updates lost of {threads_n * each:,}):")
        lost_by_gil = {}
        for gil in ("0", "1"):
            lost = [measure(free, lost_script, [str(threads_n), str(each)],
                            clean_env(PYTHON_GIL=gil))["lost"] for _ in range(args.lost_runs)]
            lost_by_gil[gil] = lost
            print(f"  PYTHON_GIL={gil}: {', '.join(f'{x:,}' for x in lost)}")
    if args.save:
        import datetime

        saved = {
            "what": "benchmarks/free_threaded.py: a pure-Python loop split between 1 and 2 "
                    "workers; medians of interleaved repeats (seconds)",
            "date": f"{datetime.date.today():%Y-%m-%d}",
            "machine": f"{os.cpu_count()} CPUs ({usable} usable), {cpu}",
            "load_average": round(load, 2),
            "python_regular": r_info["version"], "python_free_threaded": f_info["version"],
            "loop_iterations": args.n, "repeats": args.repeats,
            "seconds": {label: {"1": round(med[(label, 1)], 4), "2": round(med[(label, 2)], 4)}
                        for label, *_ in configs},
            "single_thread_ratio_ft_over_regular": round(single, 3),
            "bare_increment_lost": {"threads": threads_n, "each": each,
                                    "PYTHON_GIL=0": lost_by_gil["0"],
                                    "PYTHON_GIL=1": lost_by_gil["1"]},
        }
        Path(args.save).parent.mkdir(parents=True, exist_ok=True)
        Path(args.save).write_text(json.dumps(saved, indent=1) + "\n")
        print(f"\nsaved to {args.save}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

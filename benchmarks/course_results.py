"""The course's headline numbers, measured on this machine, as a Markdown table.

Instructors: run this on a machine like your learners' before a workshop, and
under `taskset -c 0` to see what a 1-CPU Binder session will show:

    .venv/bin/python benchmarks/course_results.py
    taskset -c 0 .venv/bin/python benchmarks/course_results.py

It measures, with warm-up, repeats and medians: the cost of creating a thread
and a process under each start method, and the speedup of threads and
processes on CPU-bound, NumPy and waiting work at N = 1, 2 and the usable
CPUs. The instructor guide's table of expected results was made with it.
"""

from __future__ import annotations

import argparse
import platform
import statistics

from threadpoolctl import threadpool_limits

from helpers import launch, measure, system


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="serial seconds of work per run")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    report = system.machine_report()
    print(f"### {report.usable_cpus} usable CPU(s) — {platform.processor() or report.machine}, "
          f"{report.logical_cpus} logical CPUs, Python {report.python}, {report.os}, "
          f"default start method {report.platform_default_start_method}\n")

    print("| create + join one worker | median | min – max |")
    print("|---|---|---|")
    for how in ["thread", *system.start_methods()]:
        times = measure.creation_times(how, repeats=20)
        print(f"| {how} | {statistics.median(times) * 1000:.2f} ms | "
              f"{min(times) * 1000:.2f} – {max(times) * 1000:.2f} ms |")
    print()

    counts = sorted({1, 2, system.usable_cpus()})
    print("| work | mode | " + " | ".join(f"speedup at n={n}" for n in counts[1:]) + " |")
    print("|---|---|" + "---|" * (len(counts) - 1))
    with threadpool_limits(limits=1):  # one BLAS thread per worker, or NumPy results mislead
        for kind in ("cpu", "numpy", "io"):
            sweep = measure.sweep(kind, counts, seconds=args.seconds, repeats=args.repeats,
                                  show_progress=False)
            for mode in sweep.modes():
                cells = []
                for _n, s, lo, hi in sweep.speedups(mode)[1:]:
                    cells.append(f"{s:.2f}x ({lo:.2f}–{hi:.2f})")
                print(f"| {kind} | {mode} | " + " | ".join(cells) + " |")
    launch.shutdown_helpers()


if __name__ == "__main__":
    main()

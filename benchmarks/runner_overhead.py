"""How much does the course's process runner cost compared with the standard library?

Runs the same CPU-bound job (pure-Python arithmetic, split evenly) three ways,
interleaved in a rotating order so that machine noise hits all of them alike, each including the
start-up of its worker processes:

  helpers   helpers.launch.run (fresh processes per run, as the lessons use it)
  executor  concurrent.futures.ProcessPoolExecutor (fresh pool per run)
  pool      multiprocessing.Pool (fresh pool per run)

and prints, for each of ``--runs`` whole measurements and then as the median of
them: the ratio helpers / standard library (target <= 1.03), and the efficiency
of the helpers' runner at N = usable CPUs against the same job run serially in
this process (target >= 0.93 where there are 2+ usable CPUs).

    python benchmarks/runner_overhead.py [--seconds 2] [--repeats 5] [--runs 3] [--start-method spawn]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import time
from concurrent.futures import ProcessPoolExecutor

from helpers import launch, system, workloads


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="serial seconds of work per run")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved repeats per run")
    parser.add_argument("--runs", type=int, default=3, help="whole measurements; medians reported")
    parser.add_argument("--workers", type=int, default=system.usable_cpus())
    parser.add_argument("--start-method", default=system.course_start_method())
    args = parser.parse_args()
    print(f"machine: {system.usable_cpus()} usable CPU(s), Python {system.machine_report().python}, "
          f"start method {args.start_method}, {args.workers} workers, {args.seconds:g} s of serial "
          f"work, {args.repeats} interleaved repeats per run, {args.runs} runs")
    results = [measure_once(args, run) for run in range(1, args.runs + 1)]
    print(f"\nmedian of {args.runs} runs:")
    for key, target, better in (("helpers/executor", 1.03, "<="), ("helpers/pool", 1.03, "<="),
                                ("efficiency", 0.93, ">=")):
        value = statistics.median(r[key] for r in results)
        ok = value <= target if better == "<=" else value >= target
        note = "ok" if ok else ("BELOW TARGET" if better == ">=" else "ABOVE TARGET")
        if key == "efficiency" and system.usable_cpus() < 2:
            note = "1 usable CPU: no parallel speedup is possible"
        print(f"  {key:<17} {value:.3f}   (target {better} {target}: {note})")
    launch.shutdown_helpers()


def measure_once(args, run: int) -> dict[str, float]:
    """One whole measurement: every contender timed ``args.repeats`` times, in turn."""
    n, method = args.workers, args.start_method
    ctx = mp.get_context(method)
    units = workloads.units_for("cpu", args.seconds)
    shares = workloads.split_evenly(units, n)
    expected = [workloads.cpu_work(u) for u in shares]  # also warms up this process

    def with_helpers():
        run = launch.run(workloads.cpu_work, [(u,) for u in shares], "processes",
                         start_method=method, track_cores=False, show_progress=False)
        assert run.results == expected

    def with_executor():
        with ProcessPoolExecutor(max_workers=n, mp_context=ctx) as ex:
            assert list(ex.map(workloads.cpu_work, shares)) == expected

    def with_pool():
        with ctx.Pool(n) as pool:
            assert pool.map(workloads.cpu_work, shares, chunksize=1) == expected

    def serial():
        assert [workloads.cpu_work(u) for u in shares] == expected

    contenders = {"helpers": with_helpers, "executor": with_executor, "pool": with_pool,
                  "serial": serial}
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for fn in contenders.values():  # warm-up: imports, forkserver start
        fn()
    names = list(contenders)
    for r in range(args.repeats):  # rotate the order, so no runner always follows the same one
        for name in names[r % len(names):] + names[: r % len(names)]:
            times[name].append(timed(contenders[name]))

    med = {name: statistics.median(ts) for name, ts in times.items()}
    print(f"\nrun {run}: {'runner':<10} {'median s':>9} {'min s':>7} {'max s':>7}")
    for name, ts in times.items():
        print(f"       {name:<10} {med[name]:>9.3f} {min(ts):>7.3f} {max(ts):>7.3f}")
    result = {"helpers/executor": med["helpers"] / med["executor"],
              "helpers/pool": med["helpers"] / med["pool"],
              "efficiency": med["serial"] / med["helpers"] / n}
    print("       " + ", ".join(f"{k} {v:.3f}" for k, v in result.items()))
    return result


if __name__ == "__main__":
    main()

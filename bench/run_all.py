"""Run every benchmark and evaluation in bench/, one after the other, and print each figure next to its target.

    .venv/bin/python bench/run_all.py            # everything (`make bench`); the 100k archives take minutes
    .venv/bin/python bench/run_all.py --quick    # smaller archives (10k), for a check after a change
    .venv/bin/python bench/run_all.py --only ingest poll

Each script runs in its own process (so one's memory and worker processes never skew another's figures) and
its output is shown as it comes; a summary of every line that names a target closes the run. Run it on an
otherwise idle machine: the throughput figures are wall-clock rates.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent


@dataclass(frozen=True, slots=True)
class Benchmark:
    """One script with its arguments for a full and a quick run."""

    name: str
    script: str
    full: tuple[str, ...] = ()
    quick: tuple[str, ...] = ()


BENCHMARKS = (
    Benchmark("ingest", "bench_ingest.py"),
    Benchmark("poll", "bench_poll.py"),
    Benchmark("archive", "bench_archive.py", (), ("--articles", "10000")),
    Benchmark("classify", "bench_classify.py", (), ("--rounds", "1")),
    Benchmark("dedup", "bench_dedup.py", (), ("10000",)),
    Benchmark("control", "bench_control.py"),
    Benchmark("relevance", "eval_relevance.py"),
    Benchmark("claims", "eval_claims.py"),
    Benchmark("dedup-eval", "eval_dedup.py"),
)


def run(benchmark: Benchmark, quick: bool) -> tuple[int, float, list[str]]:
    """Run one script, echoing its output; returns (exit code, seconds, lines that name a target)."""
    args = benchmark.quick if quick else benchmark.full
    command = [sys.executable, str(BENCH / benchmark.script), *args]
    print(f"\n=== {benchmark.name}: {' '.join(Path(c).name if i < 2 else c for i, c in enumerate(command))}",
          flush=True)
    started = time.perf_counter()
    # Throughput is wall-clock: show how busy the machine was (other processes skew the figures).
    print(f"(load average before: {os.getloadavg()[0]:.2f})", flush=True)
    targets: list[str] = []
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          cwd=BENCH.parent) as process:
        assert process.stdout is not None
        for line in process.stdout:
            print(line, end="", flush=True)
            if "target" in line.lower():
                targets.append(line.strip())
    print(f"(load average after: {os.getloadavg()[0]:.2f})", flush=True)
    return process.returncode, time.perf_counter() - started, targets


def main() -> None:
    """Run the chosen benchmarks and print the summary of figures against targets."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller archives (10k articles)")
    parser.add_argument("--only", nargs="+", choices=[b.name for b in BENCHMARKS], help="run only these")
    args = parser.parse_args()
    chosen = [b for b in BENCHMARKS if not args.only or b.name in args.only]
    summary: list[tuple[str, int, float, list[str]]] = []
    for benchmark in chosen:
        code, seconds, targets = run(benchmark, args.quick)
        summary.append((benchmark.name, code, seconds, targets))
    print("\n=== summary: figures next to their targets")
    for name, code, seconds, targets in summary:
        status = "" if code == 0 else f"  (exit code {code})"
        print(f"{name} ({seconds:.0f} s){status}")
        for line in targets:
            print(f"    {line}")
    sys.exit(max((code for _, code, _, _ in summary), default=0))


if __name__ == "__main__":
    main()

"""Benchmarks. Each `bench/bench_<name>.py` is one benchmark with a `main(argv) -> int`, run by
`python -m bench <name>` (or all of them by `python -m bench`); results and the command behind them go in
BENCHMARKS.md. Adding a benchmark is adding a file.
"""
from __future__ import annotations

import json
import os
import pkgutil
import platform
import subprocess
import sys
import time
from collections import defaultdict
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"  # gitignored: caches and raw results


def names() -> list[str]:
    """Every benchmark's name (the `<name>` of `bench/bench_<name>.py`)."""
    return sorted(m.name[len("bench_"):] for m in pkgutil.iter_modules(__path__) if m.name.startswith("bench_"))


def percentiles(samples_ms: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99, mean and count of latencies in milliseconds."""
    values = np.asarray(samples_ms, dtype=float)
    return {"p50": float(np.percentile(values, 50)), "p95": float(np.percentile(values, 95)),
            "p99": float(np.percentile(values, 99)), "mean": float(values.mean()), "n": int(len(values))}


def load_average() -> str:
    """The 1/5/15-minute load averages (the machine is shared: heavy load makes timings pessimistic)."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def machine() -> dict:
    """Where and on what code a run happened."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip()

    return {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "commit": git("rev-parse", "--short", "HEAD") + (" (dirty tree)" if git("status", "--porcelain") else ""),
        "cpus": os.cpu_count(), "python": platform.python_version(), "load_average": load_average(),
    }


def peak_rss_mb() -> float:
    """This process's peak resident set size (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def save(name: str, result: dict) -> Path:
    """Write a benchmark's raw result as JSON under bench/results/ and return its path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(result, indent=2, default=str))
    return path


class Stopwatch:
    """Milliseconds per named step, accumulated over many questions."""

    def __init__(self):
        self.samples: dict[str, list[float]] = defaultdict(list)

    @contextmanager
    def __call__(self, step: str):
        started = time.perf_counter()
        yield
        self.samples[step].append((time.perf_counter() - started) * 1000)


def profiler(enabled: bool):
    """A cProfile.Profile to enable around the code being measured, or None when profiling is off."""
    if not enabled:
        return None
    import cProfile

    return cProfile.Profile()


def write_profile(profile, name: str) -> None:
    """Save a profile under bench/results/ as .pstats and as the top 40 functions by cumulative time."""
    if profile is None:
        return
    import pstats

    path = RESULTS / f"profile-{name}.pstats"
    profile.dump_stats(path)
    with open(path.with_suffix(".txt"), "w") as out:
        pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(40)
    print(f"profile: {path.with_suffix('.txt').relative_to(ROOT)}", file=sys.stderr)

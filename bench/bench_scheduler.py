"""Scheduler benchmarks against a real `rollout scheduler` process, a real database and the fake Slack.

1. Lateness: 100 one-off announcements due in the same minute (all at the same second: the worst case), each to
   its own channel. Lateness = when the fake Slack received the message - when it was due. Target: p95 <= 2 s.
2. Fan-out: one announcement to a user group of 1,000 people (1,000 DMs) while the fake Slack answers 429 +
   Retry-After: 1 beyond --rate messages a second. Target: within 10% of the minimum time that rate allows, with
   zero duplicates and zero losses.

    python -m bench scheduler                       # SQLite in a temporary folder
    python -m bench scheduler --database-url postgresql://postgres@127.0.0.1:5432/rollout_bench   # emptied first
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import ROOT, machine, save
from bot.comms.scheduling import open_comms
from bot.settings import Settings
from tests.fakes.slack_api import FakeSlack

LATENESS_P95_TARGET = 2.0  # seconds
FAN_OUT_MARGIN = 0.10  # over the minimum time the rate allows


class SchedulerProcess:
    """`rollout scheduler` in its own process, with its output collected."""

    def __init__(self, settings: Settings, cwd: Path):
        env = {"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
               "ROLLOUT_LOG_LEVEL": "WARNING"}
        env |= {name.upper(): str(value) for name, value in settings.model_dump().items() if value is not None}
        self.process = subprocess.Popen([sys.executable, "-c", "from bot.cli import main; main()", "scheduler"],
                                        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        if not self.ready.wait(60):
            raise RuntimeError("the scheduler did not start:\n" + "\n".join(self.lines))

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip())
            if "running" in line:
                self.ready.set()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)


def wait_for(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"not done within {timeout} s")
        time.sleep(0.05)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def lateness(settings: Settings, slack: FakeSlack, cwd: Path, jobs: int) -> dict:
    """`jobs` one-off announcements all due at the same second, each to its own channel."""
    comms = open_comms(settings)
    scheduler = SchedulerProcess(settings, cwd)
    try:
        due = (datetime.now(UTC) + timedelta(seconds=10)).replace(microsecond=0)
        for n in range(jobs):
            comms.announcements.schedule(text=f"lateness {n}", at=due.isoformat(), targets=[f"C0BENCH{n:04d}"])
        wait_for(lambda: len(_ok_posts(slack, "lateness")) >= jobs, timeout=120)
    finally:
        scheduler.stop()
        comms.close()
    late = [call.time - due.timestamp() for call in _ok_posts(slack, "lateness")]
    return {"jobs": jobs, "p50_s": round(statistics.median(late), 3),
            "p95_s": round(percentile(late, 95), 3), "max_s": round(max(late), 3), "min_s": round(min(late), 3)}


def fan_out(settings: Settings, slack: FakeSlack, cwd: Path, people: int, rate: int) -> dict:
    """One announcement to `people` DMs, the fake answering 429 + Retry-After beyond `rate` a second."""
    members = [f"U0B{n:06d}" for n in range(people)]
    slack.workspace.add_usergroup("bench-everyone", members)
    slack.rate_limit(per_second=rate, method="chat.postMessage")
    comms = open_comms(settings)
    scheduler = SchedulerProcess(settings, cwd)
    try:
        announcement = comms.announcements.schedule(text="fan-out", at=(datetime.now(UTC) + timedelta(seconds=5))
                                                    .isoformat(), targets=["bench-everyone"])
        wait_for(lambda: len({c.params["channel"] for c in _ok_posts(slack, "fan-out")}) >= people, timeout=300)
        time.sleep(2)  # a duplicate or a late retry would arrive now
        [run] = wait_for_history(comms, announcement.id)
    finally:
        scheduler.stop()
        comms.close()
    calls = [c for c in slack.calls_to("chat.postMessage") if c.params.get("text") == "fan-out"]
    ok = [c for c in calls if c.ok]
    received = Counter(c.params["channel"] for c in ok)
    elapsed = max(c.time for c in ok) - min(c.time for c in calls)
    minimum = (people - rate) / rate  # a full window at once, then one window per `rate` messages
    return {"dms": people, "server_rate_per_s": rate, "client_send_rate": settings.rollout_send_rate,
            "workers": settings.rollout_send_workers, "elapsed_s": round(elapsed, 3), "minimum_s": minimum,
            "over_minimum": f"{(elapsed / minimum - 1) * 100:.1f}%",
            "answered_429": sum(1 for c in calls if c.status == 429),
            "duplicates": sum(n - 1 for n in received.values()), "losses": len(set(members) - set(received)),
            "run": f"{run.run.status}: {run.run.detail}"}


def wait_for_history(comms, announcement_id: str):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        runs = [r for r in comms.announcements.history(announcement_id) if r.run.status != "running"]
        if runs:
            return runs
        time.sleep(0.2)
    raise RuntimeError("the run did not finish")


def _ok_posts(slack: FakeSlack, prefix: str) -> list:
    return [c for c in slack.calls_to("chat.postMessage") if c.ok and str(c.params.get("text")).startswith(prefix)]


def main(argv: list[str]) -> int:
    """Run both benchmarks and print the results as Markdown; non-zero if a target is missed."""
    args = _parser().parse_args(argv)
    os.environ.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    result = {"database": "postgresql" if args.database_url else "sqlite", "workers": args.workers}
    with tempfile.TemporaryDirectory(prefix="bench-scheduler-") as tmp:
        for name, run in (("lateness", lambda s, f, d: lateness(s, f, d, args.jobs)),
                          ("fan_out", lambda s, f, d: fan_out(s, f, d, args.dms, args.rate))):
            folder = Path(tmp) / name
            folder.mkdir()
            url = args.database_url or f"sqlite:///{folder / 'rollout.db'}"
            _reset(url)
            with FakeSlack() as slack:
                settings = Settings(_env_file=None, database_url=url, slack_bot_token="xoxb-bench",
                                    slack_api_url=slack.base_url, rollout_data_dir=folder,
                                    rollout_send_rate=args.client_rate or args.rate,
                                    rollout_send_workers=args.workers)
                result[name] = run(settings, slack, folder)
    result.update(machine=machine(), command="python -m bench scheduler " + " ".join(argv))
    print(render(result))
    print(f"raw results: {save('scheduler', result).relative_to(ROOT)}", file=sys.stderr)
    return 0 if lateness_met(result) and fan_out_met(result) else 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench scheduler", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="DATABASE_URL, emptied first (default: SQLite in a temp dir)")
    parser.add_argument("--jobs", type=int, default=100, help="one-off announcements due at once (default 100)")
    parser.add_argument("--dms", type=int, default=1000, help="DMs in the fan-out (default 1000)")
    parser.add_argument("--rate", type=int, default=100,
                        help="messages/s the fake Slack allows, and ROLLOUT_SEND_RATE (default 100)")
    parser.add_argument("--client-rate", type=float, default=None,
                        help="ROLLOUT_SEND_RATE, to see 429s absorbed when it is above --rate (default: --rate)")
    parser.add_argument("--workers", type=int, default=8, help="ROLLOUT_SEND_WORKERS (default 8)")
    return parser


def lateness_met(result: dict) -> bool:
    return result["lateness"]["p95_s"] <= LATENESS_P95_TARGET


def fan_out_met(result: dict) -> bool:
    f = result["fan_out"]
    return f["elapsed_s"] <= f["minimum_s"] * (1 + FAN_OUT_MARGIN) and f["duplicates"] == 0 and f["losses"] == 0


def render(result: dict) -> str:
    """A Markdown section for BENCHMARKS.md."""
    late, fan, m = result["lateness"], result["fan_out"], result["machine"]
    return "\n".join([
        f"### Scheduler: lateness of {late['jobs']} one-off jobs due at once; fan-out of {fan['dms']} DMs",
        "",
        f"`{result['command']}` — a real `rollout scheduler` process, {result['database']}, fake Slack Web API on "
        f"loopback, ROLLOUT_SEND_RATE={fan['client_send_rate']:.0f}, ROLLOUT_SEND_WORKERS={result['workers']}; "
        f"{m['cpus']} CPUs, load average {m['load_average']}, commit {m['commit']}, {m['when']}.",
        "",
        "| measure | result | target |",
        "| --- | --- | --- |",
        f"| lateness p50 / p95 / max | {late['p50_s']:.2f} / {late['p95_s']:.2f} / {late['max_s']:.2f} s | "
        f"p95 ≤ {LATENESS_P95_TARGET:.0f} s: {'met' if lateness_met(result) else 'MISSED'} |",
        f"| fan-out of {fan['dms']} DMs, fake Slack answering 429 + Retry-After beyond {fan['server_rate_per_s']}/s "
        f"| {fan['elapsed_s']:.2f} s (minimum {fan['minimum_s']:.1f} s: +{fan['over_minimum']}); "
        f"{fan['answered_429']} × 429 | ≤ {fan['minimum_s'] * (1 + FAN_OUT_MARGIN):.2f} s: "
        f"{'met' if fan_out_met(result) else 'MISSED'} |",
        f"| duplicates / losses | {fan['duplicates']} / {fan['losses']} ({fan['run']}) | 0 / 0 |",
    ])


def _reset(url: str) -> None:
    """A PostgreSQL database is emptied first, so each benchmark starts from nothing."""
    if not url.startswith("postgres"):
        return
    from sqlalchemy import text

    from bot.store import make_engine

    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

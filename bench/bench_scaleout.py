"""Scale-out benchmark (issue 14): two `rollout serve --http` workers against one, in the same run, both on PostgreSQL
and a `chroma run` server, the extractive answerer over knowledge/policies, the fake Slack Web API in this process.

Each round, every asker sends a signed DM event at the same moment, spread over the workers as a round-robin load
balancer would (asker i to worker i mod N); the next round starts when all answers have arrived. Measured:

  ack              the HTTP round trip of the event
  time-to-answer   event sent -> the answer's chat.postMessage reached the fake Slack
  questions/s      questions answered / wall time of their bursts; per core = divided by the machine's CPUs
  CPU per question user + system CPU of each process (workers, the Chroma server, PostgreSQL's backends, this
                   harness: the askers and the fake Slack) over the measured bursts, divided by the questions

What limits it: the share of the machine's CPU the bursts used, and where it went (see render()).
"""
from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlsplit

from bench import ROOT, load_average, machine, percentiles, save
from bench.bench_slack import ROLLOUT, SIGNING_SECRET, Askers, _cpu_seconds, _listening_url, questions

POSTGRES_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    os.environ.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", ANONYMIZED_TELEMETRY="False",
                      TOKENIZERS_PARALLELISM="false")
    with tempfile.TemporaryDirectory(prefix="bench-scaleout-") as tmp, database(args.database_url) as url:
        result = run(args, Path(tmp), url)
    result.update(machine=machine(), command="python -m bench scaleout " + " ".join(argv))
    print(render(result))
    print(f"raw results: {save('scaleout', result).relative_to(ROOT)}", file=sys.stderr)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench scaleout", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--askers", default="40,200", help="concurrent askers per burst, comma-separated (40,200)")
    parser.add_argument("--rounds", type=int, default=3, help="bursts per asker count (default 3)")
    parser.add_argument("--workers", default="1,2", help="worker counts to compare, comma-separated (1,2)")
    parser.add_argument("--database-url", default=None,
                        help="PostgreSQL DATABASE_URL (default: a fresh database on 127.0.0.1:5432, dropped after)")
    return parser


class database:
    """A fresh PostgreSQL database for the run (dropped after), or the one given."""

    def __init__(self, given: str | None):
        self.given, self.name, self.admin = given, f"bench_scaleout_{uuid.uuid4().hex[:10]}", None

    def __enter__(self) -> str:
        if self.given:
            return self.given
        from sqlalchemy import create_engine

        self.admin = create_engine(f"{POSTGRES_SERVER}/test", isolation_level="AUTOCOMMIT")
        with self.admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{self.name}"')
        return f"{POSTGRES_SERVER}/{self.name}"

    def __exit__(self, *exc) -> None:
        if self.admin is not None:
            with self.admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            self.admin.dispose()


def run(args, tmp: Path, database_url: str) -> dict:
    from tests.fakes.slack_api import FakeSlack

    askers_counts = [int(n) for n in args.askers.split(",")]
    chroma = ChromaServer(tmp / "chroma")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ROLLOUT_ANSWERER": "extractive", "ROLLOUT_RATE_LIMIT": "100000/60",
           "DATABASE_URL": database_url, "CHROMA_URL": chroma.url, "SLACK_BOT_TOKEN": "xoxb-bench",
           "SLACK_SIGNING_SECRET": SIGNING_SECRET}
    env.pop("SLACK_APP_TOKEN", None)
    configurations = []
    try:
        _say(f"ingesting knowledge/policies into the Chroma server at {chroma.url}")
        subprocess.run([*ROLLOUT, "ingest", str(ROOT / "knowledge" / "policies")], check=True, cwd=tmp,
                       env={**env, "ROLLOUT_DATA_DIR": str(tmp / "ingest")}, stdout=subprocess.DEVNULL)
        with FakeSlack() as slack:
            env["SLACK_API_URL"] = slack.base_url
            for workers in [int(n) for n in args.workers.split(",")]:
                configurations.append(measure(workers, askers_counts, args.rounds, slack, env, tmp, chroma))
    finally:
        chroma.stop()
    return {"rounds": args.rounds, "database": "PostgreSQL", "answerer": "extractive",
            "configurations": configurations}


def measure(workers: int, askers_counts: list[int], rounds: int, slack, env: dict, tmp: Path, chroma) -> dict:
    """Start `workers` serve processes (each its own data dir), warm them up, then time the bursts."""
    _say(f"starting {workers} worker(s)")
    servers = [subprocess.Popen([*ROLLOUT, "serve", "--http", "--host", "127.0.0.1", "--port", "0", "--no-scheduler"],
                                env={**env, "ROLLOUT_DATA_DIR": str(tmp / f"worker-{workers}-{n}")}, cwd=tmp,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
               for n in range(workers)]
    try:
        askers = SpreadAskers(slack, [_listening_url(server, timeout=600) for server in servers], questions(),
                              servers[0].pid)
        askers.burst(40, round_number=0)  # warm-up: connections, caches, each worker's lexical index
        rows = []
        for count in askers_counts:
            _say(f"{workers} worker(s): {rounds} rounds of {count} askers")
            cpu = CpuMeter([server.pid for server in servers], chroma.process.pid)
            samples = [askers.burst(count, round_number=n) for n in range(1, rounds + 1)]
            spent = cpu.since()
            questions_ = count * rounds
            wall_s = sum(burst["wall"] for burst in samples) / 1000
            rows.append({"askers": count, "questions": questions_,
                         "ack": percentiles([s for b in samples for s in b["ack"]]),
                         "time-to-answer": percentiles([s for b in samples for s in b["answer"]]),
                         "questions per s": questions_ / wall_s,
                         "questions per s per core": questions_ / wall_s / os.cpu_count(),
                         "cpu ms per question": {k: v * 1000 / questions_ for k, v in spent.items()},
                         "machine cpu share": sum(spent.values()) / (wall_s * os.cpu_count()),
                         "load average": load_average()})
    finally:
        for server in servers:
            server.send_signal(signal.SIGTERM)
        for server in servers:
            server.wait(timeout=90)
    return {"workers": workers, "rows": rows}


class SpreadAskers(Askers):
    """bench_slack's askers behind a round-robin load balancer: asker i's request goes to worker i mod N."""

    def __init__(self, slack, urls: list[str], texts: list[str], pid: int):
        super().__init__(slack, urls[0], texts, pid)
        self.urls, self.sent = [urlsplit(url) for url in urls], 0

    def _request(self, body: str) -> tuple:
        self.url = self.urls[self.sent % len(self.urls)]
        self.sent += 1
        return self.url, super()._request(body)

    async def _send(self, addressed: tuple) -> tuple[float, float, int]:
        self.url, request = addressed  # read by the base class before its first await: no other asker runs between
        return await super()._send(request)


class CpuMeter:
    """User + system CPU seconds of the workers, the Chroma server, PostgreSQL and this harness since it was made."""

    def __init__(self, workers: list[int], chroma: int):
        self.pids = {"workers": workers, "chroma": [chroma]}
        self.before = self._now()

    def _now(self) -> dict:
        times = os.times()
        return {"workers": sum(map(_cpu_seconds, self.pids["workers"])), "chroma": _cpu_seconds(self.pids["chroma"][0]),
                "postgres": _postgres_cpu(), "harness": times.user + times.system}

    def since(self) -> dict[str, float]:
        now = self._now()
        spent = {name: now[name] - self.before[name] for name in ("workers", "chroma", "harness")}
        before = self.before["postgres"]  # per backend: one that ended meanwhile took its CPU time with it
        spent["postgres"] = sum(seconds - before.get(pid, 0.0) for pid, seconds in now["postgres"].items())
        return spent


def _postgres_cpu() -> dict[int, float]:
    """CPU seconds of every PostgreSQL process on the machine, by pid (other users of the server count too: the
    machine is shared, so this is an upper bound of the benchmark's share)."""
    seconds = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if stat.read_text().split(" ", 2)[1] == "(postgres)":
                seconds[int(stat.parent.name)] = _cpu_seconds(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    return seconds


class ChromaServer:
    """`chroma run` on a free loopback port, over a fresh directory."""

    def __init__(self, path: Path):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        executable = Path(sys.executable).with_name("chroma")
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen([str(executable), "run", "--host", "127.0.0.1", "--port", str(port),
                                         "--path", str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                with urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("chroma run did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def _say(text: str) -> None:
    print(f"[scaleout] {text} (load average {load_average()})", file=sys.stderr, flush=True)


def render(result: dict) -> str:
    """A Markdown section for BENCHMARKS.md: one row per worker count and burst size, ratios against one worker."""
    m = result["machine"]
    base = {row["askers"]: row for row in result["configurations"][0]["rows"]}
    lines = [f"### Scale-out: {', '.join(str(c['workers']) for c in result['configurations'])} workers on "
             f"PostgreSQL + a Chroma server",
             "",
             f"`{result['command']}` — {result['answerer']} answerer, {result['rounds']} rounds per burst size, "
             f"uvicorn on loopback, fake Slack Web API; {m['cpus']} CPUs, load average {m['load_average']} at the "
             f"end, commit {m['commit']}, {m['when']}.",
             "",
             "| workers | askers | ack p99 ms | answer p50 ms | answer p95 ms | q/s | q/s per core | × 1 worker | "
             "CPU ms/q: workers · chroma · postgres · harness | machine CPU used | load |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|"]
    for configuration in result["configurations"]:
        for row in configuration["rows"]:
            cpu = row["cpu ms per question"]
            ratio = row["questions per s"] / base[row["askers"]]["questions per s"]
            lines.append(f"| {configuration['workers']} | {row['askers']} | {row['ack']['p99']:.0f} | "
                         f"{row['time-to-answer']['p50']:.0f} | {row['time-to-answer']['p95']:.0f} | "
                         f"{row['questions per s']:.1f} | {row['questions per s per core']:.1f} | {ratio:.2f} | "
                         f"{cpu['workers']:.0f} · {cpu['chroma']:.0f} · {cpu['postgres']:.0f} · "
                         f"{cpu['harness']:.0f} | {row['machine cpu share']:.0%} | {row['load average']} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

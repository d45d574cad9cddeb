"""Slack edge benchmark (issue 3): ack latency and time-to-answer with 40 concurrent askers against the fake Slack.

Rollout runs as deployed: `rollout serve --http` in its own process (uvicorn, Bolt's ASGI adapter, the worker pools,
SQLite or PostgreSQL), the extractive answerer over knowledge/policies, SLACK_API_URL pointing at the fake Slack in
this process. Each round, every asker sends a signed DM event at the same
moment; the next round starts when all answers have arrived. Measured per question:

  ack             the HTTP round trip of the event (what Slack's 3-second rule is about)
  sign of work    event sent -> the 👀 reaction reached the fake Slack
  time-to-answer  event sent -> the answer's chat.postMessage reached the fake Slack

Targets: ack p99 ≤ 50 ms, time-to-answer p95 ≤ 1 s.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from bench import ROOT, load_average, machine, percentiles, save

QUESTIONS = ROOT / "tests" / "data" / "policy_questions.jsonl"
SIGNING_SECRET = "bench-signing-secret"
TARGETS = {"ack": ("p99", 50.0), "time-to-answer": ("p95", 1000.0)}
ROLLOUT = [sys.executable, "-c", "from bot.cli import main; main()"]


def main(argv: list[str]) -> int:
    """Run the rounds and print the results as Markdown."""
    args = _parser().parse_args(argv)
    os.environ.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", ANONYMIZED_TELEMETRY="False",
                      TOKENIZERS_PARALLELISM="false")
    with tempfile.TemporaryDirectory(prefix="bench-slack-") as tmp:
        result = run(args, Path(tmp))
    result.update(machine=machine(), command="python -m bench slack " + " ".join(argv))
    print(render(result))
    print(f"raw results: {save('slack', result).relative_to(ROOT)}", file=sys.stderr)
    return 0 if all(target_met(result, name) for name in TARGETS) else 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench slack", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--askers", type=int, default=40, help="concurrent askers (default 40)")
    parser.add_argument("--rounds", type=int, default=5, help="questions per asker (default 5)")
    parser.add_argument("--workers", type=int, default=None, help="ROLLOUT_WORKERS (default: the setting's)")
    parser.add_argument("--database-url", default=None, help="DATABASE_URL (default: SQLite in a temp dir)")
    return parser


def run(args, tmp: Path) -> dict:
    """Start `rollout serve --http` against the fake Slack, warm it up, then time `rounds` bursts of `askers`."""
    from tests.fakes.slack_api import FakeSlack

    env = {**os.environ, "ROLLOUT_DATA_DIR": str(tmp), "PYTHONPATH": str(ROOT), "ROLLOUT_ANSWERER": "extractive",
           "ROLLOUT_RATE_LIMIT": "100000/60", "DATABASE_URL": args.database_url or "",
           "SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_SIGNING_SECRET": SIGNING_SECRET}
    env.pop("SLACK_APP_TOKEN", None)
    if args.workers:
        env["ROLLOUT_WORKERS"] = str(args.workers)
    print(f"[slack] ingesting knowledge/policies (load average {load_average()})", file=sys.stderr, flush=True)
    subprocess.run([*ROLLOUT, "ingest", str(ROOT / "knowledge" / "policies")], env=env, cwd=tmp, check=True,
                   stdout=subprocess.DEVNULL)
    with FakeSlack() as slack:
        env["SLACK_API_URL"] = slack.base_url
        server = subprocess.Popen([*ROLLOUT, "serve", "--http", "--host", "127.0.0.1", "--port", "0"], env=env,
                                  cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            askers = Askers(slack, _listening_url(server), questions(), server.pid)
            askers.burst(args.askers, round_number=0)  # warm-up: connections, caches, the database file
            print(f"[slack] {args.rounds} rounds of {args.askers} askers", file=sys.stderr, flush=True)
            cpu_before = _cpu_seconds(server.pid)
            samples = [askers.burst(args.askers, round_number=n) for n in range(1, args.rounds + 1)]
            cpu_ms = (_cpu_seconds(server.pid) - cpu_before) * 1000 / (args.askers * args.rounds)
        finally:
            server.send_signal(signal.SIGTERM)
            server.communicate(timeout=60)
    merged = {name: [s for burst in samples for s in burst[name]] for name in ("ack", "sign", "answer")}
    return {"askers": args.askers, "rounds": args.rounds, "workers": args.workers or "default (4)",
            "database": "PostgreSQL" if args.database_url else "SQLite", "answerer": "extractive",
            "ack": percentiles(merged["ack"]), "sign of work": percentiles(merged["sign"]),
            "time-to-answer": percentiles(merged["answer"]),
            "burst wall time ms": percentiles([burst["wall"] for burst in samples]),
            "server cpu ms per question": cpu_ms,
            "ack-phase cpu ms per burst": percentiles([burst["ack cpu"] for burst in samples])}


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time a process used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _thread_cpu_ms(pid: int) -> float:
    """CPU time the process's live threads used so far, to the nanosecond (schedstat), unlike /proc/PID/stat's ticks."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError):  # a thread that ended meanwhile
            continue
    return total / 1e6


def _listening_url(server: subprocess.Popen, timeout: float = 180) -> str:
    """The base URL `rollout serve` prints once it listens."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = server.stdout.readline()
        if match := re.search(r"listening on (http://\S+)/slack/events", line):
            threading.Thread(target=server.stdout.read, daemon=True).start()  # keep its output flowing
            return match.group(1)
        if not line and server.poll() is not None:
            break
    raise RuntimeError("rollout serve did not start")


def questions() -> list[str]:
    """The policy questions of the test data (answerable and not), in file order."""
    return [json.loads(line)["question"] for line in QUESTIONS.read_text().splitlines() if line.strip()]


class Askers:
    """Employees DMing the bot at the same moment (one asyncio loop, so the askers cost little CPU themselves)."""

    def __init__(self, slack, url: str, texts: list[str], pid: int):
        self.slack, self.url, self.texts, self.pid = slack, urlsplit(url), texts, pid

    def burst(self, count: int, round_number: int) -> dict:
        """All `count` askers send one signed event at once; wait for every answer; the timings in ms."""
        from tests.fakes.payloads import event_callback, message_event

        events = [message_event(self.texts[(round_number * count + i) % len(self.texts)], user=f"U0B{i:03d}",
                                channel=f"D0B{i:03d}", channel_type="im") for i in range(count)]
        requests = [self._request(json.dumps(event_callback(event))) for event in events]  # signed before the clock
        posted_before = len(self.slack.calls_to("chat.postMessage"))
        cpu_before, began = _thread_cpu_ms(self.pid), time.time()
        acks = asyncio.run(self._send_all(requests))
        ack_cpu = _thread_cpu_ms(self.pid) - cpu_before  # what the server spent until the last ack arrived
        posts = self.slack.wait_for("chat.postMessage", count=posted_before + count, timeout=120)[posted_before:]
        reactions = {c.params["timestamp"]: c.time for c in self.slack.calls_to("reactions.add")}
        answered = {c.params["thread_ts"]: c.time for c in posts if c.ok}
        sent = {event["ts"]: ack[0] for event, ack in zip(events, acks)}
        assert all(status == 200 for _, _, status in acks), "an event was not acked with 200"
        assert len(answered) == count, f"{count - len(answered)} questions were not answered exactly once"
        return {"ack": [elapsed for _, elapsed, _ in acks],
                "sign": [(reactions[ts] - sent[ts]) * 1000 for ts in sent if ts in reactions],
                "answer": [(answered[ts] - sent[ts]) * 1000 for ts in sent],
                "wall": (max(answered.values()) - began) * 1000, "ack cpu": ack_cpu}

    def _request(self, body: str) -> bytes:
        from tests.fakes.signing import sign

        headers = {"Host": self.url.netloc, "Content-Type": "application/json", "Content-Length": str(len(body)),
                   "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)", "Connection": "close",
                   **sign(body, SIGNING_SECRET)}
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        return f"POST /slack/events HTTP/1.1\r\n{head}\r\n{body}".encode()

    async def _send_all(self, requests: list[bytes]) -> list[tuple[float, float, int]]:
        return await asyncio.gather(*(self._send(request) for request in requests))

    async def _send(self, request: bytes) -> tuple[float, float, int]:
        """(when it was sent, ms until the whole response arrived, HTTP status)."""
        sent, started = time.time(), time.perf_counter()
        reader, writer = await asyncio.open_connection(self.url.hostname, self.url.port)
        writer.write(request)
        await writer.drain()
        response = await reader.read()  # Connection: close, so the server ends the response with EOF
        elapsed = (time.perf_counter() - started) * 1000
        writer.close()
        return sent, elapsed, int(response.split(b" ", 2)[1])


def target_met(result: dict, name: str) -> bool:
    statistic, limit = TARGETS[name]
    return result[name][statistic] <= limit


def render(result: dict) -> str:
    """A Markdown section for BENCHMARKS.md."""
    rows = []
    for name in ("ack", "sign of work", "time-to-answer"):
        stats = result[name]
        target = TARGETS.get(name)
        verdict = f"{target[0]} ≤ {target[1]:.0f} ms: {'met' if target_met(result, name) else 'MISSED'}" if target else ""
        rows.append(f"| {name} | {stats['p50']:.1f} | {stats['p95']:.1f} | {stats['p99']:.1f} | {stats['n']} | "
                    f"{verdict} |")
    m, ack_cpu = result["machine"], result["ack-phase cpu ms per burst"]
    return "\n".join([
        f"### Slack edge: {result['askers']} concurrent askers × {result['rounds']} rounds",
        "",
        f"`{result['command']}` — {result['answerer']} answerer, {result['database']}, "
        f"ROLLOUT_WORKERS={result['workers']}, uvicorn on loopback, fake Slack Web API; {m['cpus']} CPUs, "
        f"load average {m['load_average']}, commit {m['commit']}, {m['when']}.",
        "",
        "| measure (ms) | p50 | p95 | p99 | n | target |",
        "|---|---:|---:|---:|---:|---|",
        *rows,
        "",
        f"A burst of {result['askers']} questions is fully answered in "
        f"{result['burst wall time ms']['p50']:.0f} ms (median over rounds); the server process used "
        f"{result['server cpu ms per question']:.1f} ms of CPU per question, and "
        f"{ack_cpu['p50']:.1f} ms (median; p99 {ack_cpu['p99']:.1f}) in all its threads from a burst's first request "
        "to its last ack (what the acks cost on an idle machine).",
    ])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

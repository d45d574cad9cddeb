"""`rollout demo` as a newcomer runs it: a real subprocess, no Slack credentials, the bot over real HTTP against the
fake Slack, every flow printed as its people see it."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROLLOUT = Path(sys.executable).with_name("rollout")


def test_rollout_demo_walks_every_flow_and_prints_what_each_party_sees(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ROLLOUT_", "DATABASE_", "CHROMA_"))}
    # Whatever the environment says about Slack, the demo talks to its own fake: a real token and an address that
    # answers nothing would show up as an error here.
    env.update(SLACK_BOT_TOKEN="xoxb-1-not-for-the-demo", SLACK_API_URL="http://127.0.0.1:9/api/",
               ROLLOUT_DATA_DIR=str(tmp_path / "left-alone"), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")

    done = subprocess.run([str(ROLLOUT), "demo"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)

    out = done.stdout
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr and "ERROR" not in done.stderr, done.stderr[-3000:]
    steps = re.findall(r"^━━ (\d)\. ", out, re.MULTILINE)
    assert steps == ["1", "2", "3", "4", "5"]
    step = dict(zip(steps, re.split(r"^━━ \d\. .*$", out, flags=re.MULTILINE)[1:]))
    # 1. the employee's answer, cited, with its buttons
    assert "Sam (employee), in the DM with Rollout (in the thread) sees:" in step["1"]
    assert "Sources" in step["1"] and "[ 👎 Not helpful ]" in step["1"]
    # 2. the 👎: the reason form opens and the answer says the vote was recorded
    assert "Sam (employee) (a form opens) sees:" in step["2"] and "What went wrong?" in step["2"]
    assert "recorded: not helpful" in step["2"]
    # 3. the ticket in the helpdesk channel, the asker told, the claim and the agent's reply relayed to the asker
    assert "#ai-helpdesk (Hana (helpdesk)) sees:" in step["3"] and "Ticket #1" in step["3"]
    assert "I've passed your question to the helpdesk" in step["3"]
    assert "@hana from the helpdesk is looking at your question" in step["3"]
    assert "@hana (helpdesk):* Yes: ask your manager" in step["3"]
    # 4. the incident form, the security channel's report, the reporter's first steps from the policy
    assert "Sam (employee) (a form opens) sees:" in step["4"]
    assert "#security-incidents (Sofia (security)) sees:" in step["4"] and "severity incident #1" in step["4"]
    assert "AI Incident Response Procedure" in step["4"]
    # 5. the comms team schedules; the channel gets the announcement from the scheduler
    assert "Chris (comms) runs: rollout announce schedule" in step["5"]
    assert re.search(r"#ai-rollout \(.*\) sees:\n.*Phase 1 starts Monday", step["5"])
    assert not (tmp_path / "left-alone").exists()  # a throwaway data dir: the configured one is never touched

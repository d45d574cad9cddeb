"""Real `rollout scheduler` processes: two of them send each run once; one killed mid fan-out is resumed by the
next without duplicates or gaps; changes made from another process take effect within seconds."""
from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.comms.scheduling import open_comms
from tests.comms.conftest import RolloutProcess, StrictSlack, settings_for, wait_until

pytestmark = pytest.mark.slow


def soon(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def runs_of(comms, announcement_id: str) -> list[str]:
    """The status of each recorded run of an announcement."""
    return [run.status for run in comms.runs.runs("announcement", announcement_id)]


def scheduler_jobs(comms) -> set[str]:
    """The job ids in APScheduler's job store: what the leading scheduler will fire."""
    with comms.engine.connect() as connection:
        return set(connection.execute(text("SELECT id FROM apscheduler_jobs")).scalars())


def add_people(slack: StrictSlack, handle: str, count: int) -> list[str]:
    people = [f"U0P{n:05d}" for n in range(count)]
    for person in people:
        slack.workspace.add_user(person)
    slack.workspace.add_usergroup(handle, people)
    return people


def test_two_schedulers_send_each_run_once(db_url: str, slack: StrictSlack, tmp_path: Path) -> None:
    settings = settings_for(db_url, slack, tmp_path)
    people = add_people(slack, "everyone", 30)
    comms = open_comms(settings)  # migrates before the two processes start
    schedulers = [RolloutProcess(settings, "scheduler", cwd=tmp_path) for _ in range(2)]
    try:
        for scheduler in schedulers:
            scheduler.wait_for("running")
        scheduled = [comms.announcements.schedule(text=f"channel news {n}", at=soon(2 + n * 0.1),
                                                  targets=["C0GENERAL"]) for n in range(8)]
        scheduled.append(comms.announcements.schedule(text="to everyone", at=soon(2.5),
                                                      targets=["everyone", "pilot-team"]))
        # Every run recorded as done: all that was sent for it has been sent (a second run would be a duplicate).
        wait_until(lambda: all(runs_of(comms, a.id) == ["done"] for a in scheduled), timeout=30)
        leaders = [s for s in schedulers if any("holding the lease" in line for line in s.lines)]
    finally:
        codes = [scheduler.stop() for scheduler in schedulers]
    sent = Counter((c.params["channel"], c.params["text"]) for c in slack.posts())
    assert sent == Counter({("C0GENERAL", f"channel news {n}"): 1 for n in range(8)}
                           | {(person, "to everyone"): 1 for person in [*people, "U0ALICE", "U0BOB"]})
    assert codes == [0, 0]
    assert len(leaders) == 1, "\n".join(line for s in schedulers for line in s.lines)  # the other stood by (and shared the sending) until the leader stopped
    comms.close()


@pytest.mark.parametrize("stop", ["kill", "term"])
def test_a_scheduler_stopped_mid_fan_out_is_resumed_without_duplicates_or_gaps(db_url: str, slack: StrictSlack,
                                                                               tmp_path: Path, stop: str) -> None:
    """SIGKILL (a crash: leases expire, half-sent chunks are looked for in Slack) or SIGTERM (a deploy: the run is
    handed over at once)."""
    settings = settings_for(db_url, slack, tmp_path, rollout_send_rate=25, rollout_scheduler_lease_seconds=2)
    people = add_people(slack, "everyone", 80)
    comms = open_comms(settings)
    first = RolloutProcess(settings, "scheduler", cwd=tmp_path)
    first.wait_for("running")
    announcement = comms.announcements.schedule(text="Phase 3 starts", at=soon(1.5), targets=["everyone"])
    wait_until(lambda: len(slack.posts()) >= 25, timeout=30)
    if stop == "kill":
        first.kill()
    else:
        assert first.stop() == 0
        assert any("left for the next scheduler to resume" in line for line in first.lines)
    sent_before_the_kill = len(slack.posts())
    second = RolloutProcess(settings, "scheduler", cwd=tmp_path)
    try:
        wait_until(lambda: runs_of(comms, announcement.id) == ["done"], timeout=60)
    finally:
        assert second.stop() == 0
    assert 25 <= sent_before_the_kill < len(people)
    assert Counter(slack.posted_to()) == {person: 1 for person in people}
    [run] = comms.announcements.history(announcement.id)
    assert (run.run.status, run.run.detail) == ("done", "80 sent, 0 failed")
    assert {d.status for d in run.deliveries} == {"sent"}
    assert any("announcement:" in line and "done" in line for line in second.lines)
    comms.close()


def test_changes_from_another_process_reach_a_running_scheduler_within_seconds(db_url: str, slack: StrictSlack,
                                                                                tmp_path: Path) -> None:
    settings = settings_for(db_url, slack, tmp_path, rollout_scheduler_poll_seconds=1.0)
    comms = open_comms(settings)
    scheduler = RolloutProcess(settings, "scheduler", cwd=tmp_path)
    try:
        scheduler.wait_for("running")
        added = comms.announcements.schedule(text="added", at=soon(2), targets=["C0GENERAL"])
        cancelled = comms.announcements.schedule(text="cancelled", at=soon(3), targets=["C0GENERAL"])
        moved = comms.announcements.schedule(text="moved", at=soon(3600), targets=["C0GENERAL"])
        jobs = {f"announcement:{a.id}" for a in (added, cancelled, moved)}
        wait_until(lambda: jobs <= scheduler_jobs(comms))  # the running scheduler has them all
        comms.announcements.cancel(cancelled.id)
        edited_at = datetime.now(UTC) + timedelta(seconds=2)
        comms.announcements.edit(moved.id, at=edited_at.isoformat(), text="moved and edited")
        wait_until(lambda: runs_of(comms, added.id) == runs_of(comms, moved.id) == ["done"], timeout=30)
        # Gone from the scheduler without a run: the cancellation reached it before the time came.
        wait_until(lambda: f"announcement:{cancelled.id}" not in scheduler_jobs(comms))
    finally:
        assert scheduler.stop() == 0
    texts = [c.params["text"] for c in slack.posts()]
    assert sorted(texts) == ["added", "moved and edited"]
    moved_post = next(c for c in slack.posts() if c.params["text"] == "moved and edited")
    assert 0 <= moved_post.time - edited_at.timestamp() < 1.5
    assert comms.announcements.get(added.id).status == "finished"
    assert comms.runs.runs("announcement", cancelled.id) == []
    comms.close()

"""The compare-and-set statements exactly-once rests on, raced on SQLite and PostgreSQL."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from bot.comms.ack_store import AckStore
from bot.comms.announcement_store import PilotCohort
from bot.comms.tables import AckCampaign
from bot.store import session_factory
from bot.store.runs import Leases, RunLog
from jobs.runs import DueRun, Settled

NOW = datetime(2027, 1, 18, 9, tzinfo=UTC)
LEASE = timedelta(seconds=10)


def at_once(count: int, work) -> list:
    barrier = threading.Barrier(count)

    def run(n: int):
        barrier.wait()
        return work(n)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def test_the_scheduler_lease_has_one_holder_until_it_expires_or_is_released(engine) -> None:
    leases = Leases(session_factory(engine))
    won = at_once(6, lambda n: leases.acquire("scheduler", f"p{n}", NOW, LEASE))
    assert won.count(True) == 1
    holder = f"p{won.index(True)}"
    assert leases.holder("scheduler", NOW) == holder
    assert leases.acquire("scheduler", "other", NOW + timedelta(seconds=5), LEASE) is False
    assert leases.acquire("scheduler", holder, NOW + timedelta(seconds=5), LEASE) is True  # renewed
    assert leases.acquire("scheduler", "other", NOW + timedelta(seconds=16), LEASE) is True  # expired: taken over
    leases.release("scheduler", "other")
    assert leases.holder("scheduler", NOW) is None


def test_a_run_is_recorded_once_and_claimed_by_one_process_at_a_time(engine) -> None:
    runs = RunLog(session_factory(engine))
    due = [DueRun(NOW, "due"), DueRun(NOW - timedelta(days=1), "missed", "too late")]
    assert runs.record("announcement:a", "announcement", "a", due, NOW) == 2
    assert runs.record("announcement:a", "announcement", "a", due, NOW) == 0  # a second scheduler: nothing new
    [run_id] = runs.claimable(NOW)
    claimed = at_once(6, lambda n: runs.claim(run_id, f"p{n}", NOW, LEASE))
    winners = [run for run in claimed if run is not None]
    assert len(winners) == 1 and winners[0].status == "running"
    assert runs.claimable(NOW + timedelta(seconds=5)) == []
    assert runs.claimable(NOW + timedelta(seconds=11)) == [run_id]  # its owner stopped renewing
    assert runs.renew(winners[0].owner, NOW + timedelta(seconds=9), LEASE) == 1
    assert runs.claimable(NOW + timedelta(seconds=11)) == []


def test_each_delivery_is_started_by_one_sender_and_the_message_and_recipients_are_frozen_once(engine) -> None:
    runs = RunLog(session_factory(engine))
    runs.record("announcement:a", "announcement", "a", [DueRun(NOW, "due")], NOW)
    [run] = runs.claim_many("p1", NOW, LEASE, 5)
    payload, started = runs.prepare(run.id, {"text": "first"}, [("U1", "team"), ("U2", "team")], NOW, sending=1)
    assert payload == {"text": "first"}
    assert runs.prepare(run.id, {"text": "second"}, [("U3", "team")], NOW, sending=1) == ({"text": "first"}, set())
    first, second = runs.open_deliveries(run.id)
    assert [(d.recipient, d.status, d.attempts) for d in (first, second)] == [("U1", "sending", 1), ("U2", "pending", 0)]
    assert started == {first.id}
    started = at_once(6, lambda n: runs.start_sending([first.id], NOW))
    assert [s for s in started if s] == [{first.id}] * 6  # "sending" stays open: re-checked, never lost
    runs.settle([Settled(first.id, "sent", "D1", "1.1"), Settled(second.id, "failed", error="x" * 300)], NOW)
    assert runs.counts([run.id]) == {run.id: {"sent": 1, "failed": 1}}
    assert runs.start_sending([first.id, second.id], NOW) == set()  # settled ones are never sent again
    assert runs.open_deliveries(run.id) == []
    assert {d.recipient: (d.channel, d.ts, d.error) for d in runs.deliveries([run.id])} == {
        "U1": ("D1", "1.1", None), "U2": (None, None, "x" * 255)}


def test_many_runs_are_claimed_in_one_go_each_by_one_process(engine) -> None:
    runs = RunLog(session_factory(engine))
    for n in range(12):
        runs.record(f"announcement:{n}", "announcement", str(n), [DueRun(NOW, "due")], NOW)
    claimed = at_once(4, lambda n: runs.claim_many(f"p{n}", NOW, LEASE, 5))
    ids = [run.id for batch in claimed for run in batch]
    assert len(ids) == len(set(ids))  # nobody got a run another got
    assert len(set(ids)) + len(runs.claimable(NOW)) == 12


def test_acceptances_and_pilot_members_are_recorded_once(engine) -> None:
    sessions = session_factory(engine)
    acks, pilot = AckStore(sessions), PilotCohort(sessions)
    campaign = acks.create(AckCampaign(policy_path="p.md", policy_title="P", policy_version="v1", summary="s",
                                       targets=["pilot"], deadline=NOW, tz="UTC", created_at=NOW),
                           [("U1", "pilot"), ("U2", "pilot")])
    assert at_once(6, lambda n: acks.accept(campaign.id, "U1", "v1", NOW)).count(True) == 1
    assert acks.has_accepted(campaign.id, "U1") and not acks.has_accepted(campaign.id, "U2")
    assert [m.user_id for m in acks.not_accepted(campaign.id)] == ["U2"]
    assert pilot.add(["U1", "U2", "U1"], "admin", NOW) == 2
    assert pilot.add(["U2", "U3"], "admin", NOW) == 1
    assert pilot.remove(["U1", "U9"]) == 1
    assert pilot.members() == ["U2", "U3"]

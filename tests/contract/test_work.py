"""Acked work's contract (bot.answering.work_store), on SQLite and PostgreSQL: one holder at a time, leases that run out,
work handed back, finished once."""
from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import StatementError

from bot.answering.work_store import GroupCommit, NewWork, WorkStore
from bot.store import session_factory
from bot.store.models import WORK_ABANDONED
from bot.store.repositories import Store
from tests.contract.test_store import at_once, bare_engine, engine  # noqa: F401  (fixtures)

NOW = datetime(2025, 11, 27, 9, 30, tzinfo=UTC)
LEASE = timedelta(seconds=20)
PAYLOAD = {"question": {"text": "May I use ChatGPT?"}, "route": {"private_notices": False}}


@pytest.fixture
def work(engine) -> WorkStore:  # noqa: F811
    return WorkStore(session_factory(engine))


def record(work: WorkStore, key: str, owner: str | None = "A", at: datetime = NOW) -> bool:
    return work.record(key, "dm", "U1", at, PAYLOAD, owner, at + LEASE if owner else None)


def test_recording_is_the_dedupe_claim_and_counts_for_the_rate_limit(work: WorkStore, engine) -> None:  # noqa: F811
    assert record(work, "message:D1:1.1") is True
    assert record(work, "message:D1:1.1", owner="B") is False  # Slack's retry, in any process
    store = Store(session_factory(engine))
    assert store.claim_event("message:D1:1.1", "dm") is False
    assert store.count_recent_questions("U1", NOW - timedelta(minutes=5)) == 1
    [item] = work.pending()
    assert (item.key, item.payload, item.attempts) == ("message:D1:1.1", PAYLOAD, 1)


def test_held_work_is_taken_by_nobody_else_until_its_lease_runs_out(work: WorkStore) -> None:
    record(work, "held")
    record(work, "unheld", owner=None)  # beyond the memory limit: any process may take it at once

    assert [i.key for i in work.take_expired("B", NOW, NOW + 5 * LEASE, 10)] == ["unheld"]
    assert work.take_expired("B", NOW + LEASE - timedelta(seconds=1), NOW + 2 * LEASE, 10) == []
    [taken] = work.take_expired("B", NOW + LEASE + timedelta(seconds=1), NOW + 3 * LEASE, 10)
    assert (taken.key, taken.attempts) == ("held", 2)


def test_renewing_keeps_a_live_process_s_work(work: WorkStore) -> None:
    record(work, "k")
    assert work.renew("A", ["k"], NOW + 3 * LEASE) == 1
    assert work.renew("B", ["k"], NOW + 9 * LEASE) == 0  # only the holder renews
    assert work.take_expired("B", NOW + 2 * LEASE, NOW + 4 * LEASE, 10) == []


def test_exactly_one_process_takes_an_expired_item_under_a_race(work: WorkStore) -> None:
    for n in range(5):
        record(work, f"k{n}", owner=None)
    later = NOW + timedelta(seconds=1)
    taken = at_once(8, lambda: work.take_expired(f"owner-{threading.get_ident()}", later, later + LEASE, 5))
    keys = [item.key for items in taken for item in items]
    assert sorted(keys) == [f"k{n}" for n in range(5)]


def test_handing_back_makes_work_takeable_at_once_and_finishing_forgets_it(work: WorkStore) -> None:
    record(work, "k")
    assert work.release("B", ["k"]) == 0  # not B's to hand back
    assert work.release("A", ["k"]) == 1
    [taken] = work.take_expired("B", NOW, NOW + LEASE, 10)
    assert work.finish(taken.key) is True
    assert work.finish(taken.key) is False
    assert work.pending() == [] and work.take_expired("C", NOW + 9 * LEASE, NOW + 10 * LEASE, 10) == []


def test_abandoned_work_is_not_taken_again(work: WorkStore) -> None:
    record(work, "k", owner=None)
    assert work.finish("k", WORK_ABANDONED) is True
    assert work.take_expired("B", NOW, NOW + LEASE, 10) == []


def test_recording_together_claims_each_key_once_and_one_bad_item_fails_alone(work: WorkStore) -> None:
    recording = GroupCommit(work)
    # Every key asked for twice at the same moment, and every fourth request not storable (its payload is no JSON).
    items = [NewWork(f"message:D1:{n % 12}", "dm", "U1", NOW, PAYLOAD, "A", NOW + LEASE) for n in range(24)]
    for n in range(8):
        items.insert(4 * n, NewWork(f"bad:{n}", "dm", "U1", NOW, {"x": object()}))
    given = iter(items)
    lock = threading.Lock()

    def record_next() -> bool | str:
        with lock:
            item = next(given)
        try:
            return recording.record(item)
        except (StatementError, TypeError):  # the payload is no JSON (SQLite wraps the TypeError)
            return "failed"

    outcomes = at_once(32, record_next)
    recording.close()

    assert outcomes.count("failed") == 8 and outcomes.count(True) == 12 and outcomes.count(False) == 12
    assert sorted(i.key for i in work.pending()) == sorted({i.key for i in items if "bad" not in i.key})
    assert work.record_many([NewWork("x", "dm", None, NOW, PAYLOAD), NewWork("x", "dm", None, NOW, PAYLOAD),
                             NewWork("message:D1:1", "dm", None, NOW, PAYLOAD)]) == [True, False, False]

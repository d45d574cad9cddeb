"""The store's contract: every test runs on SQLite and on PostgreSQL (see `db_url` in tests/conftest.py)."""
from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, insert, inspect, make_url, text
from sqlalchemy.exc import IntegrityError, StatementError

from bot.answering.asking import HISTORY_TURNS
from bot.errors import DatabaseTooNew
from bot.features import metadata
from bot.store import make_engine, migrate, session_factory
from bot.store.db import alembic_config, lock_for_migration
from bot.store.models import Conversation
from bot.store.repositories import Store

ROOT = Path(__file__).resolve().parents[2]
HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()
NOW = datetime(2025, 11, 27, 9, 30, tzinfo=UTC)
SOURCES = [
    {"path": "policies/ai-use.md", "title": "Nutzung von KI – Richtlinie", "section": "Kundendaten",
     "score": 0.87, "url": "https://intranet.example.com/ai-use#kundendaten"},
    {"path": "policies/tools.md", "title": "Approved tools", "section": None, "score": 0.5, "url": None},
]


@pytest.fixture
def bare_engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(bare_engine: Engine) -> Engine:
    migrate(bare_engine)
    return bare_engine


@pytest.fixture
def store(engine: Engine) -> Store:
    return Store(session_factory(engine))


def ask(store: Store, **overrides: Any):
    """Record a conversation with sensible defaults; `overrides` change any field."""
    fields: dict[str, Any] = dict(
        user_id="U1", channel_id="D1", thread_ts="1700000000.000100", source="dm", question="May I use ChatGPT?",
        answer="Yes, the approved one.", answered=True, latency_ms=120, answerer="extractive", sources=SOURCES,
    )
    return store.record_conversation(**(fields | overrides))


def revision_of(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def at_once(count: int, work: Callable[[], Any]) -> list[Any]:
    """Run `work` on `count` threads released together by a barrier."""
    barrier = threading.Barrier(count)

    def run() -> Any:
        barrier.wait()
        return work()

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda _: run(), range(count)))


# Migrations


def test_migrate_twice_is_a_no_op_and_models_match_the_migrations(db_url: str, engine: Engine) -> None:
    ask(Store(session_factory(engine)), message_ts="1.1")
    migrate(db_url)
    migrate(engine)
    assert revision_of(engine) == HEAD
    assert Store(session_factory(engine)).recent_questions("U1")[0].message_ts == "1.1"
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), metadata()) == []


@pytest.mark.slow
def test_migrate_from_two_processes_at_once(db_url: str, bare_engine: Engine) -> None:
    # Each child imports everything, says "ready", then migrates the moment the test says "go".
    # Without the migration lock one of them fails with "table ... already exists".
    script = "import sys; from bot.store.db import migrate; print('ready', flush=True); sys.stdin.readline(); " \
             "migrate(sys.argv[1])"
    children = [
        subprocess.Popen([sys.executable, "-c", script, db_url], cwd=ROOT, text=True,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    assert [child.stdout.readline() for child in children] == ["ready\n"] * 2
    for child in children:
        child.stdin.write("go\n")
        child.stdin.flush()
    results = [child.communicate(timeout=60) for child in children]
    assert [child.returncode for child in children] == [0, 0], [err for _, err in results]
    assert revision_of(bare_engine) == HEAD
    assert {"processed_events", "conversations", "interactions"} <= set(inspect(bare_engine).get_table_names())


def test_0005_adds_the_longer_extract_to_conversations_already_stored(db_url: str, bare_engine: Engine) -> None:
    alembic(bare_engine, "upgrade", "0004")
    with bare_engine.begin() as connection:  # an answer recorded before *Show more* existed
        connection.execute(insert(Conversation.__table__).values(
            user_id="U1", channel_id="D1", source="dm", question="q", answer="a", sources=[], answered=True,
            latency_ms=1, answerer="extractive", created_at=NOW))
    assert "more" not in {c["name"] for c in inspect(bare_engine).get_columns("conversations")}

    migrate(db_url)
    store = Store(session_factory(bare_engine))
    [old] = store.recent_questions("U1")
    assert (old.answer, old.more) == ("a", None)
    assert store.get_conversation(ask(store, more="The longer extract [2].").id).more == "The longer extract [2]."

    alembic(bare_engine, "downgrade", "0004")
    assert "more" not in {c["name"] for c in inspect(bare_engine).get_columns("conversations")}
    with bare_engine.connect() as connection:  # the answers themselves are kept
        assert connection.exec_driver_sql("SELECT answer FROM conversations ORDER BY id").scalars().all() == [
            "a", "Yes, the approved one."]
    migrate(bare_engine)
    assert revision_of(bare_engine) == HEAD


def test_a_database_a_newer_rollout_migrated_is_refused_by_name_and_left_as_it_is(db_url: str, engine: Engine) -> None:
    ask(Store(session_factory(engine)), message_ts="1.1")
    stamp_future_revision(engine, "0999_from_a_newer_rollout")

    with pytest.raises(DatabaseTooNew) as refused:
        migrate(db_url)

    message = str(refused.value)
    assert "upgraded by a newer Rollout" in message and "0999_from_a_newer_rollout" in message
    assert f"knows up to {HEAD}" in message and "DATABASE_URL" in message
    assert make_url(db_url).database in message
    assert revision_of(engine) == "0999_from_a_newer_rollout"  # nothing downgraded or stamped over
    assert Store(session_factory(engine)).recent_questions("U1")[0].message_ts == "1.1"


def stamp_future_revision(engine: Engine, revision: str) -> None:
    """What a newer Rollout's migrations leave behind: a revision this code has never heard of."""
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = :revision"), {"revision": revision})


def alembic(engine: Engine, verb: str, revision: str) -> None:
    """Move the schema to `revision` as `migrate` does: on one connection, under the migration lock."""
    with engine.connect() as connection:
        lock_for_migration(connection)
        getattr(command, verb)(alembic_config(connection), revision)
        connection.commit()


# Processed events


def test_claim_event_is_true_once_per_key(store: Store) -> None:
    assert store.claim_event("Ev01", "event_callback") is True
    assert store.claim_event("Ev01", "event_callback") is False
    assert store.claim_event("action:1234.5678", "block_actions") is True


def test_claim_event_has_exactly_one_winner_under_a_race(store: Store) -> None:
    for key in ("Ev-race-1", "Ev-race-2", "action:trigger-3"):
        results = at_once(12, lambda: store.claim_event(key, "event_callback"))
        assert sorted(results) == [False] * 11 + [True]


def test_forget_events_before_lets_old_keys_go(store: Store) -> None:
    store.claim_event("Ev-old", "event_callback")
    assert store.forget_events_before(datetime.now(UTC) - timedelta(hours=1)) == 0
    assert store.forget_events_before(datetime.now(UTC) + timedelta(seconds=1)) == 1
    assert store.claim_event("Ev-old", "event_callback") is True


# Conversations


def test_conversation_round_trip(store: Store) -> None:
    question = "Darf ich Kundendaten in ChatGPT einfügen? 🤖 日本語も [EMAIL]"
    saved = ask(store, question=question, message_ts="1700000000.000200", prompt_version="answer-v3",
                created_at=datetime(2025, 11, 27, 11, 30, tzinfo=timezone(timedelta(hours=2))))
    assert store.set_reply_ts(saved.id, "1700000001.000300") is True
    found = store.find_by_reply("D1", "1700000001.000300")
    assert found is not None and found.id == saved.id
    assert (found.question, found.sources, found.prompt_version) == (question, SOURCES, "answer-v3")
    assert (found.user_id, found.source, found.answered, found.latency_ms) == ("U1", "dm", True, 120)
    assert found.created_at == NOW.replace(hour=9) and found.created_at.tzinfo == UTC
    assert store.get_conversation(saved.id).reply_ts == "1700000001.000300"


def test_unknown_replies_and_conversations_are_none_or_false(store: Store) -> None:
    assert store.find_by_reply("D1", "1.2") is None
    assert store.get_conversation(999) is None
    assert store.set_reply_ts(999, "1.2") is False


def test_the_longer_extract_is_stored_with_the_answer_and_none_when_there_is_none(store: Store) -> None:
    extract = "Keys are issued by IT [2]; call +44 20 7946 0000 or it-desk@example.com, 日本語 🤖."
    assert store.get_conversation(ask(store, message_ts="1.1", more=extract).id).more == extract
    assert store.get_conversation(ask(store, message_ts="1.2", more="").id).more is None
    assert store.get_conversation(ask(store, message_ts="1.3").id).more is None


def test_the_same_slack_message_is_recorded_once(store: Store) -> None:
    first = ask(store, message_ts="1700000000.000500", answer="first")
    again = ask(store, message_ts="1700000000.000500", answer="second")
    assert (again.id, again.answer) == (first.id, "first")
    without_message = [ask(store, source="command", thread_ts=None) for _ in range(2)]
    assert without_message[0].id != without_message[1].id


def test_rejects_unknown_sources_and_naive_timestamps(store: Store) -> None:
    with pytest.raises(ValueError, match="unknown conversation source 'email'"):
        ask(store, source="email")
    with pytest.raises(StatementError, match="timezone-aware"):
        ask(store, created_at=datetime(2025, 11, 27, 9, 30))


def test_thread_history_is_oldest_first_and_limited(store: Store) -> None:
    for n in range(8):
        ask(store, question=f"q{n}", answer=f"a{n}", created_at=NOW + timedelta(minutes=n))
    ask(store, question="other thread", thread_ts="1700000000.999999")
    ask(store, question="other channel", channel_id="C2")
    assert HISTORY_TURNS < 8
    assert store.thread_history("D1", "1700000000.000100", HISTORY_TURNS) == [
        (f"q{n}", f"a{n}") for n in range(8 - HISTORY_TURNS, 8)]
    assert store.thread_history("D1", "1700000000.000100", limit=2) == [("q6", "a6"), ("q7", "a7")]
    assert store.thread_history("D1", "no-such-thread", HISTORY_TURNS) == []


def test_recent_questions_are_an_employees_newest_first(store: Store) -> None:
    for n in range(4):
        ask(store, question=f"q{n}", created_at=NOW + timedelta(minutes=n))
    ask(store, user_id="U2", question="someone else's")
    assert [c.question for c in store.recent_questions("U1", limit=3)] == ["q3", "q2", "q1"]


def test_count_recent_questions_counts_claimed_questions_in_the_window(store: Store) -> None:
    for minutes_ago in (120, 30, 5, 0):  # claimed, whether or not answered yet: a burst cannot outrun the limit
        assert store.claim_event(f"message:D1:{minutes_ago}", "dm", "U1", NOW - timedelta(minutes=minutes_ago))
    store.claim_event("message:D2:0", "dm", "U2", NOW)
    store.claim_event("action:vote:1", "block_actions", None, NOW)  # a click is no question
    assert not store.claim_event("message:D1:0", "dm", "U1", NOW)  # a redelivery is not counted twice
    assert store.count_recent_questions("U1", NOW - timedelta(hours=1)) == 3
    assert store.count_recent_questions("U1", NOW - timedelta(minutes=5)) == 2  # the boundary counts
    assert store.count_recent_questions("U1", NOW + timedelta(seconds=1)) == 0
    assert store.count_recent_questions("U3", NOW - timedelta(days=1)) == 0


# Interactions


def test_interactions_are_recorded_once_per_user_answer_and_action(store: Store) -> None:
    conversation = ask(store)
    assert store.record_interaction(conversation.id, "U1", "feedback_helpful") is True
    assert store.record_interaction(conversation.id, "U1", "feedback_helpful") is False
    assert store.record_interaction(conversation.id, "U1", "escalate") is True
    assert store.record_interaction(conversation.id, "U2", "feedback_helpful") is True
    results = at_once(8, lambda: store.record_interaction(conversation.id, "U3", "feedback_not_helpful"))
    assert sorted(results) == [False] * 7 + [True]


def test_interactions_need_an_existing_conversation(store: Store) -> None:
    with pytest.raises(IntegrityError):
        store.record_interaction(4242, "U1", "feedback_helpful")


# Engines


def test_sqlite_engine_is_set_up_for_several_processes(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'new' / 'dir' / 'rollout.db'}")
    with engine.connect() as connection:
        pragmas = [connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                   for name in ("journal_mode", "foreign_keys", "busy_timeout")]
    assert pragmas[:2] == ["wal", 1] and pragmas[2] >= 5000
    assert (tmp_path / "new" / "dir" / "rollout.db").exists()
    engine.dispose()


def test_postgres_urls_use_psycopg_3() -> None:
    for url in ("postgres://u@db.example.com/rollout", "postgresql://u@db.example.com/rollout"):
        assert make_engine(url).dialect.driver == "psycopg"


def test_other_databases_are_refused_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match="sqlite:// or postgresql:// URL, not mysql://"):
        make_engine("mysql://u:secret@db.example.com/rollout")

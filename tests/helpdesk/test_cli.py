"""`rollout tickets list`, `rollout faq list|remove` and `rollout audit` over a real database."""
from __future__ import annotations

from datetime import timedelta

from click.testing import CliRunner

import bot.helpdesk.cli  # noqa: F401  (registers the commands on main)
from bot.cli import main
from bot.helpdesk.store import HelpdeskStore
from bot.store import make_engine, migrate, session_factory
from bot.store.models import utc_now


def run(args, db_url, tmp_path):
    env = {"DATABASE_URL": db_url, "ROLLOUT_DATA_DIR": str(tmp_path / "data")}
    return CliRunner().invoke(main, args, env=env, catch_exceptions=False)


def seeded(db_url) -> HelpdeskStore:
    engine = make_engine(db_url)
    migrate(engine)
    store = HelpdeskStore(session_factory(engine))
    now = utc_now()
    for n in range(3):
        store.create_ticket(f"U{n}", user_id=f"U{n}", origin="help-me", question=f"question {n}",
                            created_at=now - timedelta(days=n))
    store.change_ticket(2, "U0AGENT", "claimed", ["open"], now, status="claimed", claimed_by="U0AGENT")
    store.change_ticket(3, "U0AGENT", "resolved", ["open"], now, status="resolved", resolved_by="U0AGENT")
    return store


def test_tickets_list_filters_by_status_and_counts(db_url, tmp_path):
    seeded(db_url)
    every = run(["tickets", "list"], db_url, tmp_path)
    claimed = run(["tickets", "list", "--status", "claimed"], db_url, tmp_path)
    assert every.exit_code == 0 and "1 open, 1 claimed, 1 resolved" in every.output
    header, *rows = every.output.splitlines()[:-1]
    assert header.split() == ["TICKET", "STATUS", "CREATED", "(UTC)", "ASKED", "BY", "AGENT", "RATING", "QUESTION"]
    assert len(rows) == 3 and all(row.index(" question ") == header.index(" QUESTION") for row in rows)
    assert "question 1" in claimed.output and "question 0" not in claimed.output
    assert run(["tickets", "list", "--status", "lost"], db_url, tmp_path).exit_code == 2


def test_tickets_list_says_when_there_are_none(db_url, tmp_path):
    result = run(["tickets", "list", "--status", "claimed"], db_url, tmp_path)

    assert result.exit_code == 0 and result.output.splitlines() == ["No claimed tickets.", "0 open, 0 claimed, 0 resolved"]


def test_audit_since(db_url, tmp_path):
    seeded(db_url)
    output = run(["audit", "--since", "1h"], db_url, tmp_path).output
    assert "U0AGENT  ticket #2 claimed" in output and "ticket #3 resolved" in output
    assert "ticket #1 created" in output  # created now; #2 and #3 a day or two ago
    assert "ticket #3 created" not in output
    bad = run(["audit", "--since", "yesterday"], db_url, tmp_path)
    assert bad.exit_code == 2 and "is not a time" in bad.output


def test_faq_list_and_removing_an_unknown_entry(db_url, tmp_path):
    seeded(db_url)
    assert "No FAQ entries yet" in run(["faq", "list"], db_url, tmp_path).output
    missing = run(["faq", "remove", "7"], db_url, tmp_path)
    assert missing.exit_code == 1 and "There is no FAQ entry 7" in missing.output

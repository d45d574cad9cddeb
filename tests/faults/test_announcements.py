"""Announcements under faults: a run dispatched while the database or Slack fails, then again once it is gone (Chroma
plays no part). The comms team is told the truth through the run's record (`rollout announce history`)."""
from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import make_url

from bot.features import job_kinds
from bot.store import make_engine, migrate
from jobs.dispatch import Dispatcher
from jobs.runs import DueRun
from tests.comms.conftest import TEAMS, clock, job_context, slack  # noqa: F401  (fixtures)
from tests.comms.test_scheduler import _announcement
from tests.conftest import _postgres_schema
from tests.faults.conftest import SLACK_FAULTS, _fail
from tests.faults.cut import Line


@pytest.mark.parametrize("fault", ["database", *SLACK_FAULTS])
def test_a_run_during_a_fault_reaches_everyone_once_or_records_who_it_did_not(fault, slack, clock, request,
                                                                             tmp_path):
    line = None
    if fault == "database":
        line = Line(("127.0.0.1", 5432))
        schemas = _postgres_schema(request.getfixturevalue("postgres_database"))
        request.addfinalizer(lambda: (line.close(), next(schemas, None)))
        url = make_url(next(schemas)).set(port=line.port)
    else:
        url = f"sqlite:///{tmp_path / 'rollout.db'}"
    engine = make_engine(url)
    migrate(engine)
    request.addfinalizer(engine.dispose)
    ctx = job_context(engine, slack, clock)
    announcement = _announcement(ctx, clock, ["engineering", "C0GENERAL"])
    ctx.runs.record(f"announcement:{announcement.id}", "announcement", announcement.id, [DueRun(clock.now, "due")],
                    clock.now)
    dispatcher = Dispatcher(ctx, job_kinds())

    if line:  # nothing can be claimed: the run waits, due, in the database
        with line.down():
            with pytest.raises(Exception):
                dispatcher.run_once()
    else:  # Slack fails the run's first post (failing throughout, the run retries for 31 s of real pauses, then
        # records each failed: too slow for this matrix), or refuses it for good (not_in_channel: never retried)
        _fail(slack, "chat.postMessage", fault, times=1 if fault != "not_in_channel" else 1000)
        dispatcher.run_once()
        slack.clear_faults()
    while dispatcher.run_once():  # whatever is left, once the fault is gone
        clock.advance(minutes=1)

    [run] = ctx.runs.runs("announcement", announcement.id)
    deliveries = {d.recipient: (d.status, d.error) for d in ctx.runs.deliveries([run.id])}
    sent = Counter(slack.posted_to())
    assert all(n == 1 for n in sent.values()), sent  # never twice
    # The record tells the truth, recipient by recipient: sent means it reached them, failed says why it did not.
    assert {r for r, (status, _) in deliveries.items() if status == "sent"} == set(sent), (deliveries, sent)
    assert all(status == "sent" or (status == "failed" and error) for status, error in deliveries.values())
    everyone = {*TEAMS["engineering"], "C0GENERAL"}
    if fault == "not_in_channel":  # refused for good: recorded failed with Slack's reason, nobody told it was sent
        assert run.status == "failed" and not sent and all("not_in_channel" in e for _, e in deliveries.values())
    else:  # the fault gone, nothing is lost: everyone has it once
        assert set(sent) == everyone and run.status == "done", (run.status, run.detail)
    ctx.pool.shutdown()

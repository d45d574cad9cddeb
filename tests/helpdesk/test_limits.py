"""Per-person limits on help requests, incident reports and relayed messages: counted when accepted (so a burst
cannot outrun them), shared by every process through the database, and refused with when to try again."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from bot.helpdesk.limit_store import LimitStore
from bot.helpdesk.limits import HELP_ME, INCIDENT, RELAY, Limit, Limits
from bot.helpdesk.tables import Ticket
from tests.helpdesk.conftest import AGENT, ASKER, HELPDESK, SECURITY, escalated
from tests.helpdesk.test_escalation import click
from tests.helpdesk.test_incidents import submit

NOW = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)
TWO = {action: Limit(2, timedelta(hours=1), what) for action, what in
       ((HELP_ME, "help requests"), (INCIDENT, "incident reports"), (RELAY, "messages to the helpdesk"))}


def test_two_processes_share_one_count_and_the_refusal_names_when_to_try_again(sessions):
    clock = [NOW]
    first, second = (Limits(LimitStore(sessions), lambda: clock[0], TWO) for _ in range(2))

    assert first.refusal("U1", HELP_ME) is None
    clock[0] = NOW + timedelta(minutes=20)
    assert second.refusal("U1", HELP_ME) is None
    refusal = first.refusal("U1", HELP_ME)
    assert "2 help requests in the last hour" in refusal and "try again in about 40 minutes" in refusal
    assert second.refusal("U2", HELP_ME) is None and second.refusal("U1", INCIDENT) is None  # per person, per action
    clock[0] = NOW + timedelta(minutes=60, seconds=1)  # the first one left the window: one more is allowed
    assert second.refusal("U1", HELP_ME) is None
    assert first.refusal("U1", HELP_ME) is not None


def test_help_requests_beyond_the_limit_are_refused_at_once_and_open_no_ticket(desk_rollout):
    r = desk_rollout
    r.desk.limits.limits = TWO
    replies = [r.sender.command(text=f"help-me licence problem {n}", user_id=ASKER) for n in range(4)]
    r.settle()
    assert ["Passing this" in reply.body for reply in replies] == [True, True, False, False]
    assert "try again in about 60 minutes" in replies[2].body and "contact the helpdesk directly" in replies[2].body
    assert len(r.rows(Ticket)) == 2 and len(r.posts(channel=HELPDESK)) == 2


def test_incident_reports_beyond_the_limit_keep_the_modal_open_and_say_when(desk_rollout):
    r = desk_rollout
    r.desk.limits.limits = TWO
    replies = [submit(r, data_kind="internal", ongoing="no") for _ in range(3)]
    assert [reply.body for reply in replies[:2]] == ["", ""]
    errors = json.loads(replies[2].body)
    assert errors["response_action"] == "errors" and "try again in about 60 minutes" in errors["errors"]["what"]
    assert "contact the security team directly" in errors["errors"]["what"]
    assert len(r.posts(channel=SECURITY)) == 2


def test_relayed_messages_beyond_the_limit_are_not_passed_on_and_the_sender_is_told(desk_rollout):
    r = desk_rollout
    r.desk.limits.limits = TWO
    answer, ticket_post = escalated(r)
    dm, thread, ticket_ts = answer.params["channel"], answer.params["thread_ts"], ticket_post.response["ts"]
    click(r, "ticket_claim", str(r.rows(Ticket)[0].id), AGENT, ticket_post)
    for n in range(3):
        r.say(f"detail number {n}", ASKER, dm, thread, "im")
    r.settle()
    relayed = [p.params["text"] for p in r.posts(channel=HELPDESK) if "detail number" in p.params["text"]]
    assert len(relayed) == 2 and "detail number 2" not in " ".join(relayed)
    [note] = [e for e in r.slack.calls_to("chat.postEphemeral") if "was not passed on" in e.params["text"]]
    assert (note.params["user"], note.params["channel"], note.params["thread_ts"]) == (ASKER, dm, thread)
    r.say("an agent is never limited by the asker's count", AGENT, HELPDESK, ticket_ts)
    r.settle()
    assert any("never limited" in p.params["text"] for p in r.posts(channel=dm))

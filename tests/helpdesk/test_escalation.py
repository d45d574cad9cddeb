"""Escalation through signed requests over HTTP: escalate → helpdesk post; claim; relay both ways only after claim;
resolve → asker notified and asked to rate; SLA re-announcement; unauthorised claim refused."""
from __future__ import annotations

from sqlalchemy import text

from bot.helpdesk.escalation_jobs import reannounce_overdue_tickets
from bot.helpdesk.tables import AuditEntry, Ticket
from bot.store import Interaction
from tests.helpdesk.conftest import AGENT, ASKER, HELPDESK, STRANGER, button_value, escalated
from tests.scenario.conftest import ANSWERABLE, action_ids, section_texts


def click(r, action_id: str, value: str, user: str, post) -> None:
    r.sender.block_action(action_id, value, user_id=user, channel_id=post.params["channel"],
                          message_ts=post.response["ts"], blocks=post.params["blocks"])
    r.settle()


def test_escalate_posts_a_ticket_with_the_answer_and_buttons_and_tells_the_asker(desk_on_each_db):
    r = desk_on_each_db
    answer, ticket_post = escalated(r)

    text = section_texts(ticket_post.params["blocks"])
    assert f"<@{ASKER}>" in text and ANSWERABLE in text and "Rollout answered:" in text and "Cited:" in text
    assert "View the conversation" in text
    assert action_ids(ticket_post.params["blocks"]) == ["ticket_claim", "ticket_resolve", "ticket_add_faq"]
    [told] = [p for p in r.posts(channel=answer.params["channel"]) if "helpdesk" in p.params["text"]]
    assert told.params["thread_ts"] == answer.params["thread_ts"] and "within 30 minutes" in told.params["text"]
    [ticket] = r.rows(Ticket)
    assert (ticket.status, ticket.user_id, ticket.helpdesk_ts) == ("open", ASKER, ticket_post.response["ts"])
    assert [i.action for i in r.rows(Interaction)] == ["escalate"]


def test_escalating_the_same_answer_twice_opens_one_ticket(desk_rollout):
    r = desk_rollout
    answer, _ = escalated(r)
    click(r, "escalate", str(r.rows(Ticket)[0].conversation_id), ASKER, answer)
    assert len(r.rows(Ticket)) == 1 and len(r.posts(channel=HELPDESK)) == 1
    assert "already with the helpdesk" in r.slack.calls_to("chat.postEphemeral")[-1].params["text"]


def test_a_ticket_the_helpdesk_channel_refuses_is_not_called_passed_on_and_a_retry_posts_it(desk_rollout):
    r = desk_rollout
    r.dm(ANSWERABLE)
    answer = r.slack.wait_for("chat.postMessage")[-1]
    r.settle()

    def press() -> None:
        r.sender.block_action("escalate", button_value(answer.params["blocks"], "escalate"),
                              channel_id=answer.params["channel"], message_ts=answer.response["ts"],
                              blocks=answer.params["blocks"])
        r.settle()

    def told_passed_on() -> bool:
        return any("I've passed your question" in p.params["text"] for p in r.posts(channel=answer.params["channel"]))

    r.slack.fail_next("chat.postMessage", status=500)  # the helpdesk post fails
    press()
    assert r.posts(channel=HELPDESK) == [] and not told_passed_on()
    assert "not been passed on yet" in r.slack.calls_to("chat.postEphemeral")[-1].params["text"]

    press()  # the asker tries again: now it goes through, once
    [ticket_post] = r.posts(channel=HELPDESK)
    [ticket] = r.rows(Ticket)
    assert ticket.helpdesk_ts == ticket_post.response["ts"] and told_passed_on()


def test_only_the_asker_can_pass_their_answer_to_the_helpdesk(desk_rollout):
    r = desk_rollout
    answer, _ = escalated(r)
    [ticket] = r.rows(Ticket)
    click(r, "escalate", str(ticket.conversation_id), STRANGER, answer)  # someone else presses Ask a person

    assert [t.user_id for t in r.rows(Ticket)] == [ASKER] and len(r.posts(channel=HELPDESK)) == 1
    refusal = r.slack.calls_to("chat.postEphemeral")[-1].params
    assert refusal["user"] == STRANGER and "Only the person who asked" in refusal["text"]
    assert [(i.action, i.user_id) for i in r.rows(Interaction)] == [("escalate", ASKER)]  # the stranger's not kept


def test_relay_the_askers_details_at_once_the_agents_replies_after_claim_and_nothing_after_resolve(desk_on_each_db):
    r = desk_on_each_db
    answer, ticket_post = escalated(r)
    dm, asker_thread, ticket_ts = answer.params["channel"], answer.params["thread_ts"], ticket_post.response["ts"]
    before = len(r.slack.calls_to("chat.postMessage"))

    r.say("It is about the Lisbon office, if that matters", ASKER, dm, asker_thread, "im")
    r.say("Looking at it", AGENT, HELPDESK, ticket_ts)
    r.settle()
    [details] = r.slack.calls_to("chat.postMessage")[before:]  # the asker's details reach the helpdesk thread...
    assert (details.params["channel"], details.params["thread_ts"]) == (HELPDESK, ticket_ts)
    assert "Lisbon office" in details.params["text"] and f"<@{ASKER}>" in details.params["text"]
    # ...while the agents' talk before a claim stays in the helpdesk thread, and nothing is answered as a question

    click(r, "ticket_claim", str(r.rows(Ticket)[0].id), AGENT, ticket_post)
    assert r.rows(Ticket)[0].status == "claimed"
    assert any("is looking at your question" in p.params["text"] for p in r.posts(channel=dm))
    r.say("Use the Copilot request form on the intranet.", AGENT, HELPDESK, ticket_ts)
    r.settle()
    [to_asker] = [p for p in r.posts(channel=dm) if "Copilot request form" in p.params["text"]]
    assert to_asker.params["thread_ts"] == asker_thread and f"<@{AGENT}> (helpdesk)" in to_asker.params["text"]
    r.say("Thanks, found it", ASKER, dm, asker_thread, "im")
    r.settle()
    [to_agent] = [p for p in r.posts(channel=HELPDESK) if "found it" in p.params["text"]]
    assert to_agent.params["thread_ts"] == ticket_ts and f"<@{ASKER}>" in to_agent.params["text"]

    click(r, "ticket_resolve", str(r.rows(Ticket)[0].id), AGENT, ticket_post)
    [resolved] = [p for p in r.posts(channel=dm) if "marked your helpdesk ticket as resolved" in p.params["text"]]
    assert action_ids(resolved.params["blocks"]) == [f"ticket_rate_{n}" for n in range(1, 6)]
    after = len(r.posts(channel=dm))
    r.say("One more thing from the agent", AGENT, HELPDESK, ticket_ts)
    r.settle()
    assert not [p for p in r.posts(channel=dm)[after:] if "One more thing" in p.params["text"]]

    click(r, "ticket_rate_4", f"{r.rows(Ticket)[0].id}:4", ASKER, resolved)
    assert r.rows(Ticket)[0].rating == 4
    actions = [(a.subject, a.action, a.actor) for a in r.rows(AuditEntry)]
    assert actions == [("ticket", "created", ASKER), ("ticket", "claimed", AGENT), ("ticket", "resolved", AGENT),
                       ("ticket", "rated", ASKER)]


HOSTILE = ("ping <!channel> <!here> <!subteam^S0ALL|@everyone-team> <@U0BOB> and log in at "
           "<https://evil.example/steal|https://sso.kestrel.example>")


def test_relayed_messages_carry_no_live_mentions_or_disguised_links_either_way(desk_rollout):
    r = desk_rollout
    answer, ticket_post = escalated(r)
    dm, asker_thread, ticket_ts = answer.params["channel"], answer.params["thread_ts"], ticket_post.response["ts"]
    click(r, "ticket_claim", str(r.rows(Ticket)[0].id), AGENT, ticket_post)

    r.say(f"agent says {HOSTILE}", AGENT, HELPDESK, ticket_ts)
    r.say(f"asker says {HOSTILE}", ASKER, dm, asker_thread, "im")
    r.settle()

    relayed = [p.params["text"] for p in r.slack.calls_to("chat.postMessage") if "says ping" in p.params["text"]]
    assert len(relayed) == 2
    for text in relayed:
        for live in ("<!channel>", "<!here>", "<!subteam", "<@U0BOB>", "<https://evil"):
            assert live not in text
        assert "https://sso.kestrel.example (https://evil.example/steal)" in text  # the real address shows
        assert "@channel" in text and "@U0BOB" in text  # what was written, as plain words


def test_only_helpdesk_members_may_claim(desk_rollout):
    r = desk_rollout
    _, ticket_post = escalated(r)
    click(r, "ticket_claim", str(r.rows(Ticket)[0].id), STRANGER, ticket_post)
    refusal = r.slack.calls_to("chat.postEphemeral")[-1].params
    assert refusal["user"] == STRANGER and "only members of the helpdesk channel" in refusal["text"]
    assert r.rows(Ticket)[0].status == "open"


def test_helpdesk_users_setting_may_claim_without_being_in_the_channel(start_helpdesk):
    r = start_helpdesk(rollout_helpdesk_users=STRANGER)
    _, ticket_post = escalated(r)
    click(r, "ticket_claim", str(r.rows(Ticket)[0].id), STRANGER, ticket_post)
    assert r.rows(Ticket)[0].claimed_by == STRANGER


def test_help_me_opens_a_ticket_and_tells_the_asker_in_a_dm(desk_rollout):
    r = desk_rollout
    reply = r.sender.command(text="help-me my Copilot licence has not arrived", user_id=ASKER)
    r.settle()
    assert reply.status == 200 and "helpdesk" in reply.body
    [ticket] = r.rows(Ticket)
    assert (ticket.origin, ticket.question) == ("help-me", "my Copilot licence has not arrived")
    assert r.posts(channel=HELPDESK) and ticket.asker_channel.startswith("D")


def test_unclaimed_tickets_are_reannounced_after_the_sla_once_then_hourly(desk_rollout):
    r = desk_rollout
    _, ticket_post = escalated(r)
    escalations = r.desk.escalations

    assert reannounce_overdue_tickets(escalations, r.later(29)) == []
    assert reannounce_overdue_tickets(escalations, r.later(31)) == [1]
    assert reannounce_overdue_tickets(escalations, r.later(32)) == []  # once...
    assert reannounce_overdue_tickets(escalations, r.later(31 + 59)) == []
    assert reannounce_overdue_tickets(escalations, r.later(31 + 61)) == [1]  # ...then every hour
    reminders = [p for p in r.posts(channel=HELPDESK) if "without being claimed" in p.params["text"]]
    assert len(reminders) == 2 and reminders[0].params["thread_ts"] == ticket_post.response["ts"]

    click(r, "ticket_claim", "1", AGENT, ticket_post)
    assert reannounce_overdue_tickets(escalations, r.later(300)) == []


def test_an_escalation_the_database_cannot_store_is_owned_up_to(desk_rollout):
    r = desk_rollout
    r.dm(ANSWERABLE)
    answer = r.slack.wait_for("chat.postMessage")[-1]
    r.settle()
    with r.engine.begin() as connection:
        connection.execute(text("DROP TABLE tickets"))

    r.sender.block_action("escalate", button_value(answer.params["blocks"], "escalate"),
                          channel_id=answer.params["channel"], message_ts=answer.response["ts"],
                          blocks=answer.params["blocks"])
    r.settle()

    assert "couldn't pass your question to the helpdesk" in r.slack.calls_to("chat.postEphemeral")[-1].params["text"]
    assert r.posts(channel=HELPDESK) == []


def test_clicks_at_the_same_moment_post_one_ticket_and_tell_the_asker_once(desk_rollout):
    from concurrent.futures import ThreadPoolExecutor

    from bot.store import Conversation

    r = desk_rollout
    r.dm(ANSWERABLE)
    answer = r.slack.wait_for("chat.postMessage")[-1]
    r.settle()
    [conversation] = r.rows(Conversation)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: r.desk.escalations.escalate_answer(conversation, ASKER), range(8)))

    assert [created for _, created in results].count(True) == 1
    assert len(r.posts(channel=HELPDESK)) == 1 and len(r.rows(Ticket)) == 1
    told = [p for p in r.posts(channel=answer.params["channel"]) if "I've passed your question" in p.params["text"]]
    assert len(told) == 1

"""One secret pushed through every path a person can type into: Slack DMs, mentions and `/rollout`, `rollout ask` and
`rollout chat`, `/rollout help-me`, the relay both ways, incident reports, survey free text, 👎 reasons and FAQ
entries. Afterwards nothing of it is in the database file (its WAL included), the logs (at DEBUG, as the process
installs its filter), the language model's requests, or anything the bot sent to Slack."""
from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from bot.answering.terminal import TerminalReplier, TerminalSession, run_chat
from bot.feedback.blocks import REASON_MODAL, SURVEY_MODAL
from bot.feedback.store import AnswerRating, SurveyResponse
from bot.helpdesk.tables import FaqEntry, Incident, Ticket
from knowledge.answer import make_answerer
from knowledge.base import KnowledgeBase
from tests.fakes.openai_api import fake_openai  # noqa: F401  (fixture)
from tests.helpdesk.conftest import AGENT, ASKER, HELPDESK, escalated
from tests.helpdesk.test_escalation import click
from tests.helpdesk.test_incidents import submit
from tests.scenario.conftest import ANSWERABLE, button_value

SECRET = "ghp_R7kq2ZpX9vLw4Nc8Tb3Ym6Hd1Fs5Ja0Ue2Qo"  # a GitHub token's shape; in no fixture or document


def dm(r):
    r.dm(f"I pasted {SECRET} into ChatGPT, is that a problem?")


def mention(r):
    r.mention(f"is it fine to share {SECRET} with Copilot?")


def slash_command(r):
    r.sender.command(text=f"what do I do, my token {SECRET} leaked?", user_id=ASKER)


def rollout_ask(r):
    printed = []
    TerminalSession(r.runtime.asking, user="terminal:alice", threaded=False).ask(
        f"can I use {SECRET} in a script?", TerminalReplier(printed.append, as_json=True))
    assert "secret" in "".join(printed).lower()


def rollout_chat(r):
    printed, lines = [], [f"my token is {SECRET}", ANSWERABLE]

    def read(_prompt: str) -> str:
        if not lines:
            raise EOFError  # Ctrl-D
        return lines.pop(0)

    run_chat(TerminalSession(r.runtime.asking, user="terminal:alice"), read=read, echo=printed.append)
    assert "DPO" in "".join(printed)  # the second question was answered: the chat went on


def help_me(r):
    r.sender.command(text=f"help-me I leaked {SECRET}, what now?", user_id=ASKER)
    r.settle()
    assert r.rows(Ticket)


def relay_from_asker(r):
    answer, ticket_post = escalated(r)
    click(r, "ticket_claim", str(r.rows(Ticket)[0].id), AGENT, ticket_post)
    r.say(f"the key was {SECRET}", ASKER, answer.params["channel"], answer.params["thread_ts"], "im")
    r.settle()
    assert any("the key was" in p.params["text"] for p in r.posts(channel=HELPDESK))


def relay_from_agent(r):
    _, ticket_post = escalated(r)
    click(r, "ticket_claim", str(r.rows(Ticket)[0].id), AGENT, ticket_post)
    r.say(f"try logging in with {SECRET}", AGENT, HELPDESK, ticket_post.response["ts"])
    r.settle()
    assert any("try logging in" in p.params["text"] for p in r.slack.calls_to("chat.postMessage"))


def incident(r):
    submit(r, what=f"I pasted our token {SECRET} into a chatbot")
    assert r.rows(Incident)


def survey(r):
    values = {"ease": {"ease": {"type": "number_input", "value": "4"}},
              "usefulness": {"usefulness": {"type": "number_input", "value": "5"}},
              "saved_time": {"saved_time": {"selected_option": {"value": "yes"}}},
              "team": {"team": {"selected_option": {"value": "sales"}}},
              "comment": {"comment": {"value": f"works, my token {SECRET} too"}}}
    r.sender.view_submission(SURVEY_MODAL, values, user_id=ASKER)
    assert r.rows(SurveyResponse)


def thumbs_down_reason(r):
    r.dm(ANSWERABLE)
    answer = r.slack.wait_for("chat.postMessage")[-1]
    r.settle()
    conversation = button_value(answer.params["blocks"], "feedback_not_helpful")
    r.sender.block_action("feedback_not_helpful", conversation, user_id=ASKER, channel_id=answer.params["channel"],
                          message_ts=answer.response["ts"], blocks=answer.params["blocks"])
    r.settle()
    r.sender.view_submission(REASON_MODAL, {"reason": {"reason": {"selected_option": {"value": "wrong"}}},
                                            "comment": {"comment": {"value": f"it said to use {SECRET}"}}},
                             user_id=ASKER, private_metadata=conversation)
    assert [rating.comment for rating in r.rows(AnswerRating)][0]


def faq_entry(r):
    values = {"question": {"value": {"type": "plain_text_input", "value": "How do I reach the build server?"}},
              "answer": {"value": {"type": "plain_text_input", "value": f"Log in with {SECRET} on the portal."}}}
    r.sender.view_submission("faq_modal", values, user_id=AGENT)
    r.settle()
    assert r.rows(FaqEntry)


PATHS = [dm, mention, slash_command, rollout_ask, rollout_chat, help_me, relay_from_asker, relay_from_agent, incident,
         survey, thumbs_down_reason, faq_entry]


@pytest.fixture
def logged():
    """Everything logged at DEBUG, through a handler on the root logger as a deployed process has one."""
    lines: list[str] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = lambda record: lines.append(handler.format(record))
    root = logging.getLogger()
    level, root.level = root.level, logging.DEBUG
    root.addHandler(handler)
    yield lines
    root.removeHandler(handler)
    root.setLevel(level)


@pytest.mark.parametrize("path", PATHS, ids=[p.__name__ for p in PATHS])
def test_a_secret_is_never_stored_logged_sent_to_the_model_or_echoed_to_slack(path, start_helpdesk, knowledge_base,
                                                                            fake_openai, logged, tmp_path):
    fake_openai.responder = lambda request: "Tell the DPO within 24 hours [1]."
    llm = KnowledgeBase(knowledge_base.index, make_answerer("llm:openai:fake-model", base_url=fake_openai.base_url,
                                                            api_key="test"))
    r = start_helpdesk(kb=llm)  # builds the runtime, which installs the log filter as every process does

    path(r)
    r.settle()
    logging.getLogger("bot").warning("a careless line quoting %s", SECRET)  # the filter, not only care, keeps it out

    database = b"".join(p.read_bytes() for p in Path(tmp_path / "data").glob("rollout.db*"))
    assert SECRET.encode() not in database
    assert not [line for line in logged if SECRET in line]
    assert SECRET not in json.dumps(fake_openai.requests)
    assert not [call.method for call in r.slack.calls if SECRET in json.dumps(call.params)]
    assert any("a careless line quoting" in line for line in logged) and r.slack.calls  # the path ran and logged

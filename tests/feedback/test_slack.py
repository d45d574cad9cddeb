"""Feedback in Slack over real HTTP: signed button clicks and view submissions, the fake Web API, a real database."""
from __future__ import annotations

from datetime import timedelta

import pytest
from slack_bolt import App
from sqlalchemy import text

from bot.answering import buttons as actions
from bot.answering import events
from bot.feedback import listeners as feedback_listeners
from bot.feedback.blocks import REASON_MODAL, SURVEY_MODAL
from bot.feedback.store import AnswerRating, FeedbackStore, SurveyResponse
from bot.runtime import build_runtime
from bot.slack import commands
from bot.slack.transport import HttpServer
from bot.store.models import utc_now
from tests.fakes.signing import SlackSender
from tests.fakes.slack_api import fake_slack  # noqa: F401  (fixture)
from tests.feedback.conftest import NOW, ask
from tests.scenario.conftest import SIGNING_SECRET, settings_for

ANSWER_BLOCKS = [{"type": "section", "block_id": "answer_text", "text": {"type": "mrkdwn", "text": "An answer."}},
                 {"type": "actions", "block_id": "answer_actions_1", "elements": []}]


class NoKnowledge:
    def ask(self, question, history=()):
        raise AssertionError("these tests ask nothing")


class Running:
    def __init__(self, slack, db_url):
        self.settings = settings_for(slack, db_url, rollout_admins="U0ADMIN")
        self.runtime = build_runtime(self.settings, knowledge_base=NoKnowledge())
        self.services = self.runtime.services
        bolt = App(client=self.services.client, signing_secret=SIGNING_SECRET, process_before_response=True)
        routes = commands.Routes()
        feedback_listeners.register(bolt, self.services, self.settings, subcommands=routes.subcommands)
        events.register(bolt, self.services, routes)
        commands.register(bolt, self.services, routes.subcommands)
        actions.register(bolt, self.services)
        self.server = HttpServer(bolt, "127.0.0.1", 0).start()
        self.sender, self.slack = SlackSender(self.server.url, SIGNING_SECRET), slack
        self.store = self.services.asking.store
        self.feedback = FeedbackStore(self.store._sessions)

    def rows(self, model):
        with self.store._sessions() as session:
            return list(session.query(model))

    def click(self, action_id: str, value, n: str, user: str = "U0ALICE"):
        reply = self.sender.block_action(action_id, str(value), user_id=user, blocks=ANSWER_BLOCKS,
                                         response_url=self.slack.response_url(n))
        assert reply.status == 200 and reply.elapsed < 3
        assert self.services.wait_idle(10)
        return reply

    def stop(self):
        self.server.stop()
        self.runtime.close()


@pytest.fixture
def running(fake_slack, db_url):
    running = Running(fake_slack, db_url)
    yield running
    running.stop()


def test_a_vote_is_stored_with_the_answer_and_the_message_says_so(running):
    cid = ask(running.store, "Can I paste customer data into ChatGPT?", when=NOW)

    running.click("feedback_helpful", cid, "r1")

    [rating] = running.rows(AnswerRating)
    assert (rating.conversation_id, rating.user_id, rating.vote) == (cid, "U0ALICE", "helpful")
    [update] = running.slack.wait_for("response_url")
    assert update.params["replace_original"] is True
    status = next(b for b in update.params["blocks"] if b["block_id"] == "feedback_status")
    assert "Thanks — recorded: helpful" in status["elements"][0]["text"]
    assert [b["block_id"] for b in update.params["blocks"]] == ["answer_text", "answer_actions_1", "feedback_status"]


def test_pressing_again_changes_the_vote_never_duplicates_it(running):
    cid = ask(running.store, "Which AI tools are approved?", when=NOW)

    running.click("feedback_helpful", cid, "r1")
    running.click("feedback_helpful", cid, "r2")  # a double click or Slack's retry
    running.click("feedback_not_helpful", cid, "r3")

    [rating] = running.rows(AnswerRating)
    assert rating.vote == "not_helpful"
    texts = [c.params["blocks"][-1]["elements"][0]["text"] for c in running.slack.wait_for("response_url", count=3)]
    assert "(vote changed)" in texts[2] and "changed" not in texts[1]
    [modal] = running.slack.wait_for("views.open")
    assert modal.params["view"]["callback_id"] == REASON_MODAL


def test_the_reason_modal_stores_a_redacted_comment_and_shows_errors_inline(running):
    cid = ask(running.store, "Can I use Midjourney?", when=NOW)
    running.click("feedback_not_helpful", cid, "r1")

    too_long = running.sender.view_submission(REASON_MODAL, {"comment": {"comment": {"value": "x" * 1001}}},
                                              private_metadata=str(cid))
    assert too_long.status == 200 and '"response_action":"errors"' in too_long.body.replace(" ", "")
    assert "1000 characters" in too_long.body
    bad = running.sender.view_submission(REASON_MODAL, {"reason": {"reason": {"selected_option": {"value": "bogus"}}}},
                                         private_metadata=str(cid))
    assert "Choose one of the reasons" in bad.body
    ok = running.sender.view_submission(REASON_MODAL, {
        "reason": {"reason": {"selected_option": {"value": "outdated"}}},
        "comment": {"comment": {"value": "Old page, ask jo@example.com"}}}, private_metadata=str(cid))
    assert ok.status == 200 and ok.body == ""
    [rating] = running.rows(AnswerRating)
    assert rating.reason == "outdated" and "jo@example.com" not in rating.comment


def survey_values(ease="4", usefulness="5", saved="yes", team="sales", comment=None):
    values = {"ease": {"ease": {"type": "number_input", "value": ease}},
              "usefulness": {"usefulness": {"type": "number_input", "value": usefulness}},
              "saved_time": {"saved_time": {"selected_option": {"value": saved}}},
              "team": {"team": {"selected_option": {"value": team}}}}
    if comment is not None:
        values["comment"] = {"comment": {"value": comment}}
    return values


def test_rollout_feedback_opens_the_survey_and_a_submission_is_stored_once(running):
    reply = running.sender.command(text="feedback", trigger_id="T-1")
    assert reply.status == 200
    [modal] = running.slack.wait_for("views.open")
    assert modal.params["view"]["callback_id"] == SURVEY_MODAL

    for _ in range(2):  # Slack retrying the same submission
        ok = running.sender.view_submission(SURVEY_MODAL, survey_values(), view_id="VSURVEY1", user_id="U0BOB")
        assert ok.status == 200 and ok.body == ""
    [response] = running.rows(SurveyResponse)
    assert (response.user_id, response.ease, response.usefulness, response.team) == ("U0BOB", 4, 5, "sales")


@pytest.mark.parametrize("values, field, message", [
    (survey_values(ease="7"), "ease", "out of range"),
    (survey_values(usefulness="0"), "usefulness", "out of range"),
    (survey_values(team="martians"), "team", "Choose your team"),
    (survey_values(comment="y" * 1001), "comment", "1000 characters"),
])
def test_bad_survey_input_gets_an_inline_error(running, values, field, message):
    reply = running.sender.view_submission(SURVEY_MODAL, values)
    assert reply.status == 200 and f'"{field}"' in reply.body and message in reply.body
    assert running.rows(SurveyResponse) == []


def test_the_give_feedback_button_opens_the_survey(running):
    running.click("survey_open", "survey", "r1")
    [modal] = running.slack.wait_for("views.open")
    assert modal.params["view"]["callback_id"] == SURVEY_MODAL


def test_app_home_shows_recent_questions_and_admins_see_figures_and_gaps(running):
    ask(running.store, "What is the capital of Peru?", answered=False, when=utc_now() - timedelta(hours=1),
        user="U0BOB")
    ask(running.store, "How do I get access to Copilot?", when=NOW, user="U0ALICE")

    for user in ("U0ALICE", "U0ADMIN"):
        event = {"type": "app_home_opened", "user": user, "channel": f"D{user}", "tab": "home",
                 "event_ts": "1700000000.000100"}
        assert running.sender.event(event).status == 200
    published = {call.params["user_id"]: call for call in running.slack.wait_for("views.publish", count=2)}
    alice, admin = published["U0ALICE"], published["U0ADMIN"]  # handled concurrently: either may publish first
    alice_blocks = {b["block_id"] for b in alice.params["view"]["blocks"]}
    assert "home_figures" not in alice_blocks and "give_feedback" in alice_blocks
    assert "access to Copilot" in str(alice.params["view"]["blocks"])
    gaps = next(b for b in admin.params["view"]["blocks"] if b["block_id"] == "home_gaps")["text"]["text"]
    assert "1× \"What is the capital of Peru?\" (1 unanswered" in gaps


def test_a_vote_the_database_cannot_store_is_owned_up_to(running):
    cid = ask(running.store, "Can I paste customer data into ChatGPT?", when=NOW)
    with running.runtime.engine.begin() as connection:
        connection.execute(text("DROP TABLE answer_ratings"))

    running.click("feedback_helpful", cid, "v-fail")

    [told] = running.slack.wait_for("response_url")
    assert "couldn't record your vote" in told.params["text"] and "reference" in told.params["text"]

"""Routing is declared, not ordered (issue 12): the real app (create_app) routes every /rollout subcommand, action
id, view callback and event to the feature that owns it, through exactly one listener, so no listener depends on
the order listeners were registered in; an event nobody listens for is acked."""
from __future__ import annotations

import re
from fnmatch import fnmatchcase
from pathlib import Path

import pytest
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse

from bot.features import acked
from bot.runtime import build_runtime
from bot.settings import Settings
from bot.slack.app import create_app
from tests.fakes.slack_api import FakeSlack

SUBCOMMANDS = {"ask": "bot.slack", "help": "bot.slack", "settings": "bot.answering", "feedback": "bot.feedback",
               "pilot": "bot.feedback", "help-me": "bot.helpdesk", "incident": "bot.helpdesk",
               "announce": "bot.comms"}
ACTIONS = {"show_more": "bot.answering", "show_less": "bot.answering", "share_answer": "bot.answering",
           "channel_settings_edit": "bot.answering", "channel_settings_pick": "bot.answering",
           "feedback_helpful": "bot.feedback", "feedback_not_helpful": "bot.feedback", "survey_open": "bot.feedback",
           "escalate": "bot.helpdesk", "ticket_claim": "bot.helpdesk", "ticket_resolve": "bot.helpdesk",
           "ticket_add_faq": "bot.helpdesk", "ticket_rate_3": "bot.helpdesk", "incident_report": "bot.helpdesk",
           "incident_acknowledge": "bot.helpdesk", "announce_confirm": "bot.comms", "announce_discard": "bot.comms",
           "announce_cancel:7": "bot.comms", "ack_accept": "bot.comms", "recall_approve": "bot.recall"}
VIEWS = {"channel_settings": "bot.answering", "feedback_reason": "bot.feedback", "survey": "bot.feedback",
         "faq_modal": "bot.helpdesk", "incident_modal": "bot.helpdesk", "announce_modal": "bot.comms"}
TICKET_THREAD = ("C0HELP", "1700000000.000100")
EVENTS = {
    "a mention": ({"type": "app_mention", "user": "U0ALICE", "channel": "C0GENERAL", "ts": "1.1", "text": "hi"},
                  "bot.answering"),
    "a DM": ({"type": "message", "channel_type": "im", "user": "U0ALICE", "channel": "D0ALICE", "ts": "1.2",
              "text": "may I use ChatGPT?"}, "bot.answering"),
    "a follow-up in a DM thread": ({"type": "message", "channel_type": "im", "user": "U0ALICE", "channel": "D0ALICE",
                                    "ts": "1.4", "thread_ts": "1.2", "text": "and Copilot?"}, "bot.answering"),
    "a message in a ticket's thread": ({"type": "message", "channel_type": "channel", "user": "U0AGENT",
                                        "channel": TICKET_THREAD[0], "ts": "1.3", "thread_ts": TICKET_THREAD[1],
                                        "text": "on it"}, "bot.helpdesk"),
    "the App Home": ({"type": "app_home_opened", "user": "U0ALICE", "tab": "home"}, "bot.feedback"),
}


class NoKnowledge:
    def ask(self, question, history=()):
        raise AssertionError("routing asks nothing")


@pytest.fixture(scope="module")
def slack():
    with FakeSlack() as fake:
        yield fake


@pytest.fixture(scope="module")
def runtime(tmp_path_factory, slack):
    data = tmp_path_factory.mktemp("routing")
    settings = Settings(_env_file=None, database_url=f"sqlite:///{data / 'rollout.db'}", slack_bot_token="xoxb-test",
                        slack_api_url=slack.base_url, slack_signing_secret="secret", rollout_data_dir=data,
                        rollout_helpdesk_channel="C0HELP")
    runtime = build_runtime(settings, knowledge_base=NoKnowledge())
    runtime.helpdesk_store.create_ticket("U0ALICE", user_id="U0ALICE", origin="help-me", question="help",
                                         helpdesk_channel=TICKET_THREAD[0], helpdesk_ts=TICKET_THREAD[1])
    yield runtime
    runtime.close()


@pytest.fixture(scope="module")
def app(runtime):
    return create_app(runtime)


def request(body: dict) -> BoltRequest:
    return BoltRequest(body=body, mode="socket_mode")


def action(action_id: str) -> dict:
    return {"type": "block_actions", "team": {"id": "T1"}, "user": {"id": "U0ALICE"}, "api_app_id": "A1",
            "trigger_id": "1.2.3", "container": {"type": "message", "channel_id": "C0GENERAL", "message_ts": "1.1"},
            "actions": [{"type": "button", "action_id": action_id, "block_id": "b", "value": "1"}]}


def view(callback_id: str) -> dict:
    return {"type": "view_submission", "team": {"id": "T1"}, "user": {"id": "U0ALICE"}, "api_app_id": "A1",
            "view": {"id": "V1", "type": "modal", "callback_id": callback_id, "private_metadata": "",
                     "state": {"values": {}}}}


def event(payload: dict) -> dict:
    return {"type": "event_callback", "team_id": "T1", "api_app_id": "A1", "event_id": "Ev1", "event": payload}


def owners(app, body: dict) -> list[str]:
    """The modules of every listener that matches `body` (more than one would leave the choice to their order)."""
    return [listener.ack_function.__module__ for listener in app._listeners
            if listener.matches(req=request(body), resp=BoltResponse(status=200))]


def owned_by(modules: list[str], package: str) -> bool:
    return len(modules) == 1 and (modules[0] == package or modules[0].startswith(package + "."))


@pytest.mark.parametrize("action_id", ACTIONS)
def test_every_action_id_has_one_listener_in_its_feature(app, action_id):
    assert owned_by(owners(app, action(action_id)), ACTIONS[action_id]), owners(app, action(action_id))


@pytest.mark.parametrize("callback_id", VIEWS)
def test_every_view_callback_has_one_listener_in_its_feature(app, callback_id):
    assert owned_by(owners(app, view(callback_id)), VIEWS[callback_id]), owners(app, view(callback_id))


@pytest.mark.parametrize("name", EVENTS)
def test_every_event_has_one_listener_in_its_feature(app, name):
    payload, package = EVENTS[name]
    assert owned_by(owners(app, event(payload)), package), owners(app, event(payload))


def test_every_subcommand_is_declared_by_its_feature_and_routed_by_the_one_rollout_listener(app):
    declared = {sub.name: sub.handle.__module__ for sub in app.routes.subcommands}
    command = {"command": "/rollout", "text": "incident", "user_id": "U0ALICE", "channel_id": "C0GENERAL",
               "team_id": "T1", "api_app_id": "A1", "trigger_id": "1.2.3", "response_url": "https://example.com"}

    assert set(declared) == set(SUBCOMMANDS)
    assert all(owned_by([module], SUBCOMMANDS[name]) for name, module in declared.items()), declared
    assert owners(app, command) == ["bot.slack.commands"]


def test_every_listener_of_the_app_is_one_of_the_routes_above(app):
    bodies = ([action(a) for a in ACTIONS] + [view(v) for v in VIEWS] + [event(p) for p, _ in EVENTS.values()]
              + [{"command": "/rollout", "text": "", "team_id": "T1", "api_app_id": "A1"}])
    reached = {id(listener) for body in bodies for listener in app._listeners
               if listener.matches(req=request(body), resp=BoltResponse(status=200))}

    assert [listener.ack_function.__qualname__ for listener in app._listeners if id(listener) not in reached] == []


def test_an_event_nobody_listens_for_is_acked(app):
    body = event({"type": "reaction_added", "user": "U0ALICE", "reaction": "eyes",
                  "item": {"type": "message", "channel": "C0GENERAL", "ts": "1.1"}})

    assert owners(app, body) == []
    assert app.dispatch(request(body)).status == 200


# -- what each route's ack promises, and how it is kept (issue 13) -------------------------------------------------

ROUTES = ([("command", name, owner) for name, owner in SUBCOMMANDS.items()]
          + [("action", name, owner) for name, owner in ACTIONS.items()]
          + [("view", name, owner) for name, owner in VIEWS.items()]
          + [("event", payload["type"], owner) for payload, owner in EVENTS.values()])
README = Path(__file__).resolve().parents[2] / "README.md"
ACKED_ROW = re.compile(r"^\| `(?P<route>[a-z_]+:[^`]+)`[^|]*\| (?P<feature>[a-z]+) \| `(?P<how>[^`]+)`")


def declared(owner: str, route: str) -> list[str]:
    """The entries of the owning feature's ACKED table (bot/features.py) that cover this route."""
    return [pattern for pattern in acked()[owner] if fnmatchcase(route, pattern)]


@pytest.mark.parametrize(("surface", "name", "owner"), ROUTES, ids=[f"{s}:{n}" for s, n, _ in ROUTES])
def test_every_route_declares_how_what_its_ack_promises_is_kept(app, surface, name, owner):
    """A new command, button, modal or event fails here until its feature says whether it is all done before the
    ack or recorded as durable work before it (and the routing tests above make every new one appear here)."""
    assert len(declared(owner, f"{surface}:{name}")) == 1, acked()[owner]


def test_no_declaration_is_left_over_from_a_route_that_is_gone():
    used = {(owner, pattern) for surface, name, owner in ROUTES for pattern in declared(owner, f"{surface}:{name}")}

    assert {(owner, pattern) for owner, table in acked().items() for pattern in table} == used


def test_every_durable_kind_declared_is_work_the_app_does_and_every_kind_it_does_is_declared(app, runtime):
    declared_kinds = {how for table in acked().values() for how in table.values()} - {"ack", "question"}

    assert declared_kinds == runtime.services.intake.kinds


def test_the_readme_lists_every_route_as_the_code_declares_it():
    rows = [m for line in README.read_text().splitlines() if (m := ACKED_ROW.match(line))]
    listed = {(f"bot.{m['feature']}", m["route"]): m["how"] for m in rows}

    assert listed == {(owner, route): how for owner, table in acked().items() for route, how in table.items()}

"""`rollout demo`: Rollout's Slack flows without a workspace. The bot runs in HTTP mode, as `rollout serve --http`
does (signed requests, the scheduler, the helpdesk jobs), against a fake Slack on loopback (bot/fake_slack), over a
throwaway data dir with the sample policies. Slack's side is played as Slack plays it (signed events, clicks, modal
submissions), and every message the bot sends is printed as the person or channel it went to would see it."""
from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from bot.errors import RolloutError
from bot.fake_slack.api import Call, FakeSlack
from bot.fake_slack.payloads import message_event
from bot.fake_slack.screen import message_lines, plain, view_lines
from bot.fake_slack.signing import SlackSender
from bot.settings import Settings

POLICIES = Path(__file__).resolve().parent.parent / "knowledge" / "policies"
EMPLOYEE, AGENT, SECURITY_LEAD, COMMS = "U0SAM", "U0HANA", "U0SOFIA", "U0CHRIS"
HELPDESK, SECURITY, ROLLOUT = "C0HELPDESK", "C0SECURITY", "C0ROLLOUT"
PEOPLE = {EMPLOYEE: ("sam", "Sam (employee)"), AGENT: ("hana", "Hana (helpdesk)"),
          SECURITY_LEAD: ("sofia", "Sofia (security)"), COMMS: ("chris", "Chris (comms)")}
CHANNELS = {HELPDESK: "ai-helpdesk", SECURITY: "security-incidents", ROLLOUT: "ai-rollout"}
QUESTION = "Which AI tools are approved for work?"
FOLLOW_UP = "Can I get a Copilot licence before the training?"
INCIDENT = {"what": "I pasted a customer's contract into my personal ChatGPT account",
            "when": "this morning, around 9:30", "tool": "ChatGPT (personal account)"}
ANNOUNCEMENT = ("*Phase 1 starts Monday.* Approved tools open to the pilot group; book AI Foundations in the "
                "Learning Hub first.")
VISIBLE = ("chat.postMessage", "chat.postEphemeral", "chat.update", "views.open", "views.push", "views.update",
           "response_url")
WAIT = 60  # seconds for any one reply: generous, the machine may be busy


class DemoError(RolloutError):
    """A step of the demo did not happen as Slack would show it (a message for the user, one line)."""


def run_demo(workdir: Path, echo: Callable[[str], None], progress: bool | None = None) -> None:
    """Start everything under `workdir`, walk the five flows, print what each party sees, stop everything."""
    from bot.operations import Operations
    from bot.runtime import build_runtime
    from bot.slack.app import create_app
    from bot.slack.server import start_background
    from bot.slack.transport import HttpServer
    from knowledge.base import KnowledgeBase

    with FakeSlack() as slack:
        _people_and_channels(slack)
        settings = demo_settings(slack, workdir)
        echo(f"Indexing the sample policies into a throwaway data dir ({workdir})…")
        knowledge_base = KnowledgeBase.open(settings.data_dir)
        knowledge_base.ingest([POLICIES], progress=progress)
        echo("Loading the model and starting the bot…")
        knowledge_base.warm_up()
        runtime = build_runtime(settings, knowledge_base=knowledge_base)
        server = HttpServer(create_app(runtime), "127.0.0.1", 0, acking=runtime.services.workers.acking,
                            operations=Operations(runtime)).start()
        stops = start_background(runtime, scheduler=True, echo=lambda _line: None)
        echo(f"Rollout is serving Slack's requests at {server.url}/slack/events; a fake Slack is at "
             f"{slack.base_url} (no credentials, nothing leaves this machine).")
        try:
            Walkthrough(slack, SlackSender(server.url, settings.slack_signing_secret), runtime, echo).run()
        finally:
            for stop in reversed(stops):
                stop()
            server.stop()
            runtime.close()


def demo_settings(slack: FakeSlack, workdir: Path) -> Settings:
    """The bot's settings for the demo: the fake's address and made-up credentials, whatever the environment says."""
    return Settings(
        _env_file=None, rollout_data_dir=workdir / "data", database_url=None, chroma_url=None,
        rollout_answerer="extractive", slack_bot_token="xoxb-demo-" + secrets.token_hex(8), slack_app_token=None,
        slack_signing_secret=secrets.token_hex(16), slack_api_url=slack.base_url, rollout_admins=COMMS,
        rollout_helpdesk_channel=HELPDESK, rollout_helpdesk_users=AGENT, rollout_security_channel=SECURITY,
        rollout_report_channel=None, rollout_timezone="UTC", rollout_rate_limit="20/300",
    )


def _people_and_channels(slack: FakeSlack) -> None:
    workspace = slack.workspace
    for user, (name, real_name) in PEOPLE.items():
        workspace.add_user(user, name=name, real_name=real_name)
    bot = workspace.bot_user_id
    workspace.add_channel(HELPDESK, CHANNELS[HELPDESK], members=[bot, AGENT])
    workspace.add_channel(SECURITY, CHANNELS[SECURITY], members=[bot, SECURITY_LEAD])
    workspace.add_channel(ROLLOUT, CHANNELS[ROLLOUT], members=[bot, *PEOPLE])


class Walkthrough:
    """The five flows, one after the other, each printed as a numbered step."""

    def __init__(self, slack: FakeSlack, sender: SlackSender, runtime, echo: Callable[[str], None]):
        self.slack, self.sender, self.runtime, self.echo = slack, sender, runtime, echo
        self.dm = slack.workspace.open_dm([EMPLOYEE])["id"]
        self.names = {user: name for user, (name, _) in PEOPLE.items()} | CHANNELS
        self._shown = 0  # calls to the fake already printed
        self._presser = EMPLOYEE  # who pressed the last button: a response_url reply is theirs to see

    def run(self) -> None:
        answer = self.question()
        self.thumbs_down(answer)
        self.escalation()
        self.incident()
        self.announcement()
        self.echo("\nThat was Rollout in Slack. `make run` chats in the terminal; README, 'Create the Slack app in two "
                  "minutes', connects it to your workspace.")

    # -- the flows ----------------------------------------------------------------------------------------------------

    def question(self) -> Call:
        self.step(1, "Sam asks Rollout a question in a direct message")
        self.says(EMPLOYEE, QUESTION)
        answer = self.deliver(message_event(QUESTION, user=EMPLOYEE, channel=self.dm, channel_type="im"),
                              lambda c: c.method == "chat.postMessage" and c.params.get("channel") == self.dm)
        self.show()
        return answer

    def thumbs_down(self, answer: Call) -> None:
        self.step(2, "Sam presses 👎 under the answer and says why")
        self.press(EMPLOYEE, "feedback_not_helpful", answer, expect="views.open")
        modal = self.slack.calls_to("views.open")[-1].params["view"]
        self.show()
        values = {"reason": {"reason": {"type": "radio_buttons", "selected_option": {"value": "incomplete"}}},
                  "comment": {"comment": {"type": "plain_text_input", "value": "It doesn't say which Copilot."}}}
        self.sender.view_submission(modal["callback_id"], values, user_id=EMPLOYEE,
                                    private_metadata=modal.get("private_metadata", ""))
        self.settle()
        self.note(f"{self.who(EMPLOYEE)} picks a reason and sends the form; the 👎 and the reason are stored with the "
                  "answer for `rollout report` and the knowledge-gap list.")
        self.show()

    def escalation(self) -> None:
        self.step(3, "Sam asks a person: the helpdesk gets a ticket, claims it and answers through the bot")
        self.says(EMPLOYEE, FOLLOW_UP)
        answer = self.deliver(message_event(FOLLOW_UP, user=EMPLOYEE, channel=self.dm, channel_type="im"),
                              lambda c: c.method == "chat.postMessage" and c.params.get("channel") == self.dm)
        self.show()
        self.press(EMPLOYEE, "escalate", answer, expect="chat.postMessage", channel=HELPDESK)
        self.show()
        ticket = next(c for c in reversed(self.slack.calls_to("chat.postMessage")) if c.params["channel"] == HELPDESK)
        self.press(AGENT, "ticket_claim", ticket, expect="chat.postMessage", channel=self.dm)
        self.show()
        reply = "Yes: ask your manager to approve it in the IT portal; the licence arrives once training is booked."
        self.says(AGENT, reply, where=f"#{CHANNELS[HELPDESK]}, in the ticket's thread")
        self.deliver(message_event(reply, user=AGENT, channel=HELPDESK, thread_ts=ticket.response["ts"]),
                     lambda c: c.method == "chat.postMessage" and c.params.get("channel") == self.dm
                     and "IT portal" in (c.params.get("text") or ""))
        self.show()

    def incident(self) -> None:
        self.step(4, "Sam reports a security incident with /rollout incident")
        self.says(EMPLOYEE, "/rollout incident")
        self._presser = EMPLOYEE
        self.sender.command(text="incident", user_id=EMPLOYEE, channel_id=self.dm)
        self.wait(lambda c: c.method == "views.open" and c.params["view"].get("callback_id") == "incident_modal")
        self.show()
        values = {key: {"value": {"type": "plain_text_input", "value": value}} for key, value in INCIDENT.items()}
        values["data_kind"] = {"value": {"type": "static_select", "selected_option": {"value": "confidential"}}}
        values["ongoing"] = {"value": {"type": "radio_buttons", "selected_option": {"value": "no"}}}
        self.note(f"{self.who(EMPLOYEE)} fills in the form: {INCIDENT['what']}; confidential data; not ongoing.")
        self.sender.view_submission("incident_modal", values, user_id=EMPLOYEE)
        self.wait(lambda c: c.method == "chat.postMessage" and c.params.get("channel") == SECURITY)
        self.settle()
        self.show()

    def announcement(self) -> None:
        self.step(5, "Chris (comms) schedules an announcement to #ai-rollout; the scheduler sends it")
        comms = self.runtime.comms
        at = comms.clock() + timedelta(seconds=2)
        scheduled = comms.announcements.schedule(text=ANNOUNCEMENT, targets=[ROLLOUT], at=at.isoformat(),
                                                 created_by=COMMS)
        self.note(f"{self.who(COMMS)} runs: rollout announce schedule --to {ROLLOUT} --at {at:%Y-%m-%dT%H:%M:%S%z} "
                  f"--text \"…\"\n  and is told: scheduled {scheduled.id} for {at:%H:%M:%S %Z}.")
        self.wait(lambda c: c.method == "chat.postMessage" and c.params.get("channel") == ROLLOUT)
        self.show()

    # -- playing Slack's side ---------------------------------------------------------------------------------------

    def deliver(self, event: dict, expected: Callable[[Call], bool]) -> Call:
        """Post a person's message in the workspace and deliver its event, as Slack does; the reply it expects."""
        self.slack.workspace.add_message(event["channel"], event["text"], user=event["user"], ts=event["ts"],
                                         thread_ts=event.get("thread_ts"))
        before = len(self.slack.calls)
        self.sender.event(event)
        found = self.wait(expected, since=before)
        self.settle()
        return found

    def press(self, user: str, action_id: str, message: Call, expect: str, channel: str | None = None) -> None:
        """A person clicks a button on a message the bot posted."""
        blocks = message.params.get("blocks") or []
        button = next((e for b in blocks if b.get("type") == "actions" for e in b["elements"]
                       if e.get("action_id") == action_id), None)
        if button is None:
            raise DemoError(f"the bot's message has no {action_id} button")
        value, label = button.get("value", ""), button["text"]["text"]
        self.note(f"{self.who(user)} presses [ {plain(label)} ]")
        self._presser = user
        before = len(self.slack.calls)
        self.sender.block_action(action_id, value, user_id=user, channel_id=message.params["channel"],
                                 message_ts=message.response["ts"], blocks=blocks,
                                 response_url=self.slack.response_url(f"{action_id}-{before}"))
        self.wait(lambda c: c.method == expect and (channel is None or c.params.get("channel") == channel),
                  since=before)
        self.settle()

    def wait(self, expected: Callable[[Call], bool], since: int | None = None) -> Call:
        since = self._shown if since is None else since
        found = self.slack.wait_for_call(expected, since=since, timeout=WAIT)
        if found is None:
            raise DemoError("the bot did not answer within a minute; run with ROLLOUT_LOG_LEVEL=INFO to see why")
        return found

    def settle(self) -> None:
        """Until everything the bot accepted is done (answers, relays, posts)."""
        self.runtime.services.wait_idle(WAIT)

    # -- printing -----------------------------------------------------------------------------------------------------

    def step(self, number: int, title: str) -> None:
        self.echo(f"\n━━ {number}. {title} " + "━" * max(3, 90 - len(title)))

    def says(self, user: str, text: str, where: str = "in a DM to Rollout") -> None:
        self.echo(f"\n  {self.who(user)}, {where}:\n    > {text}")

    def note(self, text: str) -> None:
        self.echo(f"\n  {text}")

    def show(self) -> None:
        """Print every call the bot made since the last show that a person would see, as they would see it."""
        calls = self.slack.calls
        for call in calls[self._shown:]:
            if call.method in VISIBLE and call.ok:
                self.echo("")
                self.echo(f"  {self.audience(call)} sees:")
                for line in self.screen(call):
                    self.echo(f"    │ {line}" if line else "    │")
        self._shown = len(calls)

    def screen(self, call: Call) -> list[str]:
        if call.method.startswith("views."):
            return view_lines(call.params.get("view") or {}, self.names)
        return message_lines(call.params, self.names)

    def audience(self, call: Call) -> str:
        """Who sees this call's message, and where."""
        params = call.params
        if call.method.startswith("views."):
            return f"{self.who(self._presser)} (a form opens)"
        if call.method == "response_url":
            what = "the message changes" if params.get("replace_original") else "only they see this"
            return f"{self.who(self._presser)} ({what})"
        channel = params.get("channel", "")
        thread = " (in the thread)" if params.get("thread_ts") else ""
        if call.method == "chat.postEphemeral":
            return f"{self.who(params.get('user', ''))} only, in {self.place(channel)}"
        verb = " (the message is edited)" if call.method == "chat.update" else ""
        return f"{self.place(channel)}{thread}{verb}"

    def place(self, channel: str) -> str:
        if channel == self.dm:
            return f"{self.who(EMPLOYEE)}, in the DM with Rollout"
        members = [self.who(u) for u in self.slack.workspace.channel(channel).get("members", []) if u in PEOPLE]
        return f"#{CHANNELS.get(channel, channel)} ({', '.join(members) or 'its members'})"

    def who(self, user: str) -> str:
        return PEOPLE.get(user, (user, user))[1]

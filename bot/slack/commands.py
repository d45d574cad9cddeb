"""The /rollout slash command: `/rollout <question>`, or a subcommand (`help`, `ask`, and those the features declare
in the app's `Routes`), and what else the app routes by declaration."""
from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from slack_bolt import Ack, App

from bot.answering import blocks
from bot.answering.asking import Question
from bot.slack.parsing import plain_text

COMMAND = "/rollout"
LOOKING = ":mag: Looking it up…"
ACKED = {"command:ask": "question", "command:help": "ack"}  # as a feature's ACKED (bot/features.py)


@dataclass(frozen=True)
class Subcommand:
    """`/rollout <name> ...`: what it's for, and the function that acks it."""

    name: str
    usage: str
    description: str
    handle: Callable[[Ack, dict, str, object], None]  # (ack, command, the text after the name, services)


class Subcommands:
    """One app's /rollout subcommands by name, declared by the features that own them: which one runs never depends
    on the order listeners were registered, and a name taken twice stops the start. `help` lists them in the order
    added (`ask` and `help` first)."""

    def __init__(self) -> None:
        self._by_name: dict[str, Subcommand] = {}
        self.add("ask", f"{COMMAND} <question>", "ask about our AI tools and policies (only you see the answer)")(
            lambda ack, command, text, services: ask(ack, command, text, services, self))
        self.add("help", f"{COMMAND} help", "what I can do")(
            lambda ack, command, text, services: show_help(ack, command, text, services, self))

    def add(self, name: str, usage: str, description: str):
        """Declare `/rollout <name>`; `usage` and `description` are what `help` shows."""

        def register(handle):
            if name in self._by_name:
                raise ValueError(f"{COMMAND} {name} is declared twice")
            self._by_name[name] = Subcommand(name, usage, description, handle)
            return handle

        return register

    def get(self, name: str) -> Subcommand | None:
        return self._by_name.get(name)

    def __iter__(self):
        return iter(list(self._by_name.values()))


class Routes:
    """What an app routes by declaration rather than by the order of its listeners: the /rollout subcommands, message
    threads a feature takes over from answering (a helpdesk ticket's thread), and the App Home the features share."""

    def __init__(self, admin_home: Callable[[], list[dict]] = list) -> None:
        self.subcommands = Subcommands()
        self.admin_home = admin_home  # more App Home blocks for admins, from every feature
        self.home: Callable[[str], dict] | None = None  # the App Home view of a user, once a feature provides one
        self._thread_owners: list[Callable[[dict, str | None], bool]] = []

    def take_threads(self, owns: Callable[[dict, str | None], bool]) -> None:
        """Declare that messages for which `owns(event, bot_user_id)` holds are this feature's, never questions."""
        self._thread_owners.append(owns)

    def thread_taken(self, event: dict, bot_user_id: str | None) -> bool:
        """Whether a feature has taken this message over (answering leaves it alone)."""
        return any(owns(event, bot_user_id) for owns in self._thread_owners)

    def home_view(self, user_id: str) -> dict | None:
        """The user's App Home view, or None when no feature provides one."""
        return self.home(user_id) if self.home is not None else None


def register(app: App, services, subcommands: Subcommands) -> None:
    """Listen for /rollout; its subcommands are the app's `subcommands`."""

    @app.command(COMMAND)
    def on_rollout(ack: Ack, command: dict) -> None:
        text = plain_text(command.get("text") or "")
        word, _, rest = text.partition(" ")
        if chosen := subcommands.get(word.lower()):
            return chosen.handle(ack, command, rest.strip(), services)
        if not text or is_unknown_subcommand(text):
            return show_help(ack, command, "", services, subcommands, unknown=word or None)
        ask(ack, command, text, services, subcommands)


def is_unknown_subcommand(text: str) -> bool:
    """One bare word ('/rollout report') reads as a command we don't have; anything longer is a question."""
    return re.fullmatch(r"[A-Za-z][\w-]*", text) is not None


def ask(ack: Ack, command: dict, text: str, services, subcommands: Subcommands) -> None:
    """Record the question, then ack with a sign of work; the answer follows through the response_url."""
    if not text:
        return show_help(ack, command, "", services, subcommands)
    trigger = command.get("trigger_id") or uuid.uuid4().hex
    question = Question(user_id=command.get("user_id", ""), channel_id=command.get("channel_id", ""), text=text,
                        source="command", dedupe_key=f"command:{trigger}")
    refusal = services.answer_command(question, command.get("response_url") or "")
    ack(text=refusal.text if refusal else LOOKING)


def show_help(ack: Ack, command: dict, text: str, services, subcommands: Subcommands,
              unknown: str | None = None) -> None:
    """Everything the bot can do, right in the ack (no Web API call needed)."""
    usage = [(s.usage, s.description) for s in subcommands]
    help_blocks = blocks.help_blocks(usage, services.rate_limit.describe(), unknown=unknown)
    ack(text="What Rollout can do", blocks=help_blocks)

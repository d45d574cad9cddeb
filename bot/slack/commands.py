"""The /rollout slash command: `/rollout <question>`, or a subcommand (`help`, `ask`, and those added later)."""
from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from slack_bolt import Ack, App

from bot.slack import blocks
from bot.answering.asking import Question
from bot.slack.parsing import plain_text

COMMAND = "/rollout"
LOOKING = ":mag: Looking it up…"


@dataclass(frozen=True)
class Subcommand:
    """`/rollout <name> ...`: what it's for, and the function that acks it."""

    name: str
    usage: str
    description: str
    handle: Callable[[Ack, dict, str, object], None]  # (ack, command, the text after the name, services)


SUBCOMMANDS: dict[str, Subcommand] = {}


def subcommand(name: str, usage: str, description: str):
    """Register a /rollout subcommand; `help` lists them in registration order."""

    def register(handle):
        SUBCOMMANDS[name] = Subcommand(name, usage, description, handle)
        return handle

    return register


def register(app: App, services) -> None:
    """Listen for /rollout."""

    @app.command(COMMAND)
    def on_rollout(ack: Ack, command: dict) -> None:
        text = plain_text(command.get("text") or "")
        word, _, rest = text.partition(" ")
        if chosen := SUBCOMMANDS.get(word.lower()):
            return chosen.handle(ack, command, rest.strip(), services)
        if not text or is_unknown_subcommand(text):
            return show_help(ack, command, "", services, unknown=word or None)
        ask(ack, command, text, services)


def is_unknown_subcommand(text: str) -> bool:
    """One bare word ('/rollout report') reads as a command we don't have; anything longer is a question."""
    return re.fullmatch(r"[A-Za-z][\w-]*", text) is not None


@subcommand("ask", f"{COMMAND} <question>", "ask about our AI tools and policies (only you see the answer)")
def ask(ack: Ack, command: dict, text: str, services) -> None:
    """Record the question, then ack with a sign of work; the answer follows through the response_url."""
    if not text:
        return show_help(ack, command, "", services)
    trigger = command.get("trigger_id") or uuid.uuid4().hex
    question = Question(user_id=command.get("user_id", ""), channel_id=command.get("channel_id", ""), text=text,
                        source="command", dedupe_key=f"command:{trigger}")
    refusal = services.answer_command(question, command.get("response_url") or "")
    ack(text=refusal.text if refusal else LOOKING)


@subcommand("help", f"{COMMAND} help", "what I can do")
def show_help(ack: Ack, command: dict, text: str, services, unknown: str | None = None) -> None:
    """Everything the bot can do, right in the ack (no Web API call needed)."""
    usage = [(s.usage, s.description) for s in SUBCOMMANDS.values()]
    help_blocks = blocks.help_blocks(usage, services.rate_limit.describe(), unknown=unknown)
    ack(text="What Rollout can do", blocks=help_blocks)

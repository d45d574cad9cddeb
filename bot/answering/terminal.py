"""`rollout ask` and `rollout chat`: the Slack answering workflow (`bot.answering.asking.Asking`) in a terminal.

The same secret screen, redaction, rate limit and thread history as Slack, and every answer recorded with source
`terminal`. Each `rollout ask` question starts its own thread; a chat session is one thread until `new`, so a
follow-up reads the earlier turns from the store exactly as a Slack thread does.
"""
from __future__ import annotations

import getpass
import json
import re
import uuid
from collections.abc import Callable, Iterable

import click

from bot.answering.asking import Asking, Question, Reply
from bot.answering.safety import redact
from bot.answering.terminal_input import Warming
from bot.store.models import TERMINAL_SOURCE
from knowledge.answer import Answer, Source

CHANNEL = "terminal"
CHAT_PROMPT, CHAT_VOICE, CHAT_INDENT = "you> ", "rollout> ", " " * 9
CHAT_HELP = ("Ask about our AI policies (Ctrl-D or 'quit' to leave, 'new' for a new conversation, 'more' for the "
             "longer extract of the last answer; arrow keys recall earlier questions).")
NEW_TOPIC = "Started a new conversation."
# Slack's secret warning tells people to delete the message; here the question may sit in the shell's history.
SECRET_STEPS = ("Please, right away:\n"
                "1. Rotate or revoke the secret wherever it was issued: treat it as exposed.\n"
                "2. If you typed it on the command line, remove it from your shell history.\n"
                "3. Report it with /rollout incident in Slack, or tell the security team.\n"
                "If you still need an answer, ask again without the secret.")

_EMOJI = re.compile(r"^:[a-z0-9_+\-]+:\s*", re.MULTILINE)
_BOLD = re.compile(r"\*([^*\n]+)\*")


def terminal_user() -> str:
    """'terminal:<login>': the local OS user, as the store knows them (rate limits, reports)."""
    try:
        login = getpass.getuser()
    except (KeyError, OSError):  # no login name, e.g. a container user without a passwd entry
        login = "unknown"
    return f"terminal:{login}"[:64]


class TerminalSession:
    """One person's questions from this terminal: one thread per question (`ask`), or until `new` (chat)."""

    def __init__(self, asking: Asking, user: str | None = None, threaded: bool = True,
                 audiences: tuple[str, ...] = ()):
        self.asking = asking
        self.audiences = audiences  # answered as someone in these document audiences (`--as-audience`)
        self.user = user or terminal_user()
        self.threaded = threaded
        self.thread: str | None = None

    def ask(self, text: str, replier: TerminalReplier) -> Reply | None:
        """Screen, answer and record one question; the replier shows the answer or the notice."""
        message = uuid.uuid4().hex  # 32 characters: fits the store's message_ts, unique per question
        thread = self.thread or message  # like Slack: the first message of a thread is its root
        if self.threaded:
            self.thread = thread
        question = Question(user_id=self.user, channel_id=CHANNEL, text=text, source=TERMINAL_SOURCE,
                            dedupe_key=f"{TERMINAL_SOURCE}:{message}", message_ts=message, thread_ts=thread,
                            audiences=self.audiences)
        return self.asking.answer_question(question, replier)

    def new_topic(self) -> None:
        """Forget the thread: the next question is answered without the earlier ones."""
        self.thread = None


class TerminalReplier:
    """Prints each reply (the answer with its sources, or a notice) and remembers the last answer."""

    def __init__(self, echo: Callable[[str], None] = click.echo, *, as_json: bool = False, more: bool = False,
                 chat: bool = False):
        self.echo, self.as_json, self.more, self.chat = echo, as_json, more, chat
        self.last: Answer | None = None
        self.failures = 0  # notices instead of answers that are errors: bad questions, the rate limit, our failures

    def working(self) -> None:
        """Nothing to show: a terminal answer takes milliseconds once the model is loaded."""

    def send(self, reply: Reply) -> str | None:
        if reply.answer is None and reply.kind != "secret":  # a secret is refused as it should be: not an error
            self.failures += 1
        else:
            self.last = reply.answer
        self.echo(self.render(reply))
        return None  # no message id: nothing to attach buttons to

    def finished(self) -> None:
        """Nothing to take down."""

    def render(self, reply: Reply) -> str:
        if self.as_json:
            return json.dumps(reply.answer.to_json() if reply.answer else notice_json(reply), ensure_ascii=False)
        if reply.answer is None:
            text = f"{'warning' if reply.kind == 'secret' else 'error'}: {notice_text(reply)}"
            return CHAT_VOICE + text if self.chat else text
        return chat_text(reply.answer) if self.chat else answer_text(reply.answer, self.more)

    def more_text(self) -> str:
        """The longer extract of the last answer, for chat's `more`."""
        if self.last is None:
            return "Ask a question first; then 'more' shows the longer extract of its answer."
        return self.last.more or "There is nothing more to show for the last answer."


def shown_sources(answer: Answer, more: bool = False) -> list[Source]:
    """The sources the printed text cites (with --more, the extract's too); for a don't-know, every one offered."""
    return answer.shown_sources(expanded=more)


def answer_text(answer: Answer, more: bool = False) -> str:
    """`rollout ask`'s answer: the short answer, the longer extract under 'More:' (with --more), then sources."""
    lines = [answer.text]
    if more and answer.more:
        lines += ["", "More:", answer.more]
    if sources := shown_sources(answer, more):
        lines += ["", "Sources:" if answer.answered else "You could look at:"]
        lines += [f"  [{s.number}] {s.label}  ({s.path})" for s in sources]
    return "\n".join(lines)


def chat_text(answer: Answer) -> str:
    """The chat's answer: in the bot's voice, its sources indented under it."""
    return "\n".join([CHAT_VOICE + answer.text] + [f"{CHAT_INDENT}[{s.number}] {s.label}"
                                                   for s in shown_sources(answer)])


def notice_json(reply: Reply) -> dict:
    """A notice in `ask --json`: a refused secret in the answer's shape (it is an answer: the warning), the rest as
    errors."""
    if reply.kind == "secret":
        return {"answer": notice_text(reply), "answered": False, "refused": "secret", "sources": []}
    return {"error": notice_text(reply)}


def notice_text(reply: Reply) -> str:
    """A notice written for Slack (mrkdwn, emoji), as plain terminal text."""
    if reply.kind == "secret":
        return f"{plain(reply.text.splitlines()[0])}\n{SECRET_STEPS}"
    text = plain(reply.text)
    if reply.kind == "rate_limited":
        text += " (ROLLOUT_RATE_LIMIT sets the limit.)"
    return text


def plain(mrkdwn: str) -> str:
    """Slack mrkdwn without emoji codes at line starts and *bold* markers."""
    return _BOLD.sub(r"\1", _EMOJI.sub("", mrkdwn))


def answer_lines(session: TerminalSession, lines: Iterable[str], replier: TerminalReplier,
                 echo_questions: bool = False) -> None:
    """`rollout ask -`: one question per line, blank lines skipped; in text, each question echoed before its answer."""
    first = True
    for line in lines:
        text = line.rstrip("\n")
        if not text.strip():
            continue
        if echo_questions:
            replier.echo(("" if first else "\n") + f"> {redact(text)}")  # what is stored, never a secret
        first = False
        session.ask(text, replier)


def run_chat(session: TerminalSession, read: Callable[[str], str] = input,
             echo: Callable[[str], None] = click.echo, warming: Warming | None = None) -> None:
    """Read questions until EOF or 'quit'; answer each with citations, with the session's thread as context. With
    `warming`, the model loads while the prompt waits, and a question asked before it is ready waits for it."""
    echo(CHAT_HELP)
    replier = TerminalReplier(echo, chat=True)
    while True:
        try:
            text = read(CHAT_PROMPT)
        except (EOFError, KeyboardInterrupt):
            echo("")
            return
        command = text.strip().lower()
        if not command:
            continue
        if command in {"quit", "exit"}:
            return
        if command == "new":
            session.new_topic()
            replier.last = None
            echo(CHAT_VOICE + NEW_TOPIC)
        elif command == "more":
            echo(CHAT_VOICE + replier.more_text())
        else:
            if warming is not None:
                warming.wait(lambda line: echo(CHAT_VOICE + line))
            session.ask(text, replier)

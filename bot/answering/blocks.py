"""The answer message: an answer's text, sources and buttons (👍 / 👎 / *Ask a person*, *Show more*, *Share in
channel*, *Report an incident*), the action ids those buttons carry, and the /rollout help message; built from the
Block Kit atoms of bot/slack/blocks.py."""
from __future__ import annotations

import re
from collections.abc import Sequence

from bot.slack.blocks import (
    MAX_TEXT_SECTIONS,
    button,
    context,
    escape,
    is_web_url,
    link,
    shorten,
    text_sections,
    to_mrkdwn,
)
from knowledge.answer import Answer, Source

QUESTION_ECHO_LIMIT = 300
HELPFUL, NOT_HELPFUL, ESCALATE = "feedback_helpful", "feedback_not_helpful", "escalate"
ANSWER_ACTIONS = (HELPFUL, NOT_HELPFUL, ESCALATE)
SHARE_ANSWER = "share_answer"  # posts a private answer in the channel (issue 15)
SHOW_MORE, SHOW_LESS = "show_more", "show_less"  # expand an answer in place with its longer extract, and fold it back
EXTRACT_LABELS = {SHOW_MORE: ":arrow_down_small: Show more", SHOW_LESS: ":arrow_up_small: Show less"}
INCIDENT_REPORT = "incident_report"  # opens the incident modal, from /rollout help and answers about incidents
_INCIDENT_WORDS = re.compile(r"\b(incident|breach|leak(ed|s)?|compromise[ds]?)\b", re.IGNORECASE)
FILES_NOTE = ":page_facing_up: I can't read files yet, so I answered from the text of your message only."


def answer_blocks(answer: Answer, conversation_id: int, *, question: str | None = None,
                  files_note: bool = False, expanded: bool = False, share: bool = False) -> list[dict]:
    """An answer: optional notes, the text in mrkdwn, its numbered sources and the feedback/escalate buttons (and
    *Share in channel* under a private answer, `share`).

    An answer with a longer extract (`answer.more`) offers *Show more*; `expanded` shows the extract under the text
    and offers *Show less*. Each lists the sources its own text cites (numbered by first use, so no gaps)."""
    blocks: list[dict] = []
    if files_note:
        blocks.append(context(FILES_NOTE, "files_note"))
    if question:
        blocks.append(context(f"*You asked:* {escape(shorten(question, QUESTION_ECHO_LIMIT))}", "question"))
    blocks += text_sections(to_mrkdwn(answer.text), "answer_text")
    expanded = expanded and bool(answer.more)
    if expanded:
        blocks.append({"type": "divider", "block_id": "answer_more_divider"})
        blocks += text_sections(to_mrkdwn(answer.more), "answer_more",  # both texts share the sections' budget
                                max_sections=MAX_TEXT_SECTIONS + 1 - len(blocks))
    if shown := shown_sources(answer, expanded):
        blocks.append(context(sources_text(shown, answer.answered), "answer_sources"))
    extract = (SHOW_LESS if expanded else SHOW_MORE) if answer.more else None
    blocks.append(answer_buttons(answer.answered, conversation_id, incident=about_incidents(answer, question),
                                 extract=extract, share=share))
    return blocks


def answer_buttons(answered: bool, conversation_id: int, incident: bool = False, extract: str | None = None,
                   share: bool = False) -> dict:
    """👍 / 👎 / ask a person (a don't-know answer offers only the person); answers about incidents offer a report.

    `extract` (SHOW_MORE or SHOW_LESS) adds that button after them, for an answer with a longer extract."""
    value = str(conversation_id)
    escalate = button(ESCALATE, ":raising_hand: Ask a person", value, primary=not answered)
    elements = [button(HELPFUL, ":+1: Helpful", value), button(NOT_HELPFUL, ":-1: Not helpful", value), escalate]
    elements = elements if answered else [escalate]
    if share:
        elements.append(button(SHARE_ANSWER, ":loudspeaker: Share in channel", value))
    if extract:
        elements.append(button(extract, EXTRACT_LABELS[extract], value))
    if incident:
        elements.append(incident_button())
    return {"type": "actions", "block_id": answer_marker(conversation_id), "elements": elements}


def incident_button() -> dict:
    return button(INCIDENT_REPORT, ":rotating_light: Report an incident", "incident")


def about_incidents(answer: Answer, question: str | None = None) -> bool:
    """True when the question or the cited sections are about incidents, leaks or breaches."""
    cited = [s.label for s in shown_sources(answer)] if answer.answered else []
    return any(_INCIDENT_WORDS.search(text or "") for text in [question or answer.question, *cited])


def answer_marker(conversation_id: int) -> str:
    """The block_id that identifies the message carrying a conversation's answer (to check whether it was posted)."""
    return f"answer_actions_{conversation_id}"


def help_blocks(commands: Sequence[tuple[str, str]], rate_limit: str, unknown: str | None = None) -> list[dict]:
    """What Rollout can do; `commands` are (usage, description) pairs of the /rollout subcommands."""
    blocks: list[dict] = []
    if unknown is not None:
        blocks += text_sections(
            f"I don't know the command `{escape(shorten(unknown, 40))}`. To ask a question, write it as a sentence, "
            "e.g. `/rollout can I use Copilot with customer data?`", "unknown_command")
    blocks.append({"type": "header", "block_id": "help_header",
                   "text": {"type": "plain_text", "text": "What Rollout can do", "emoji": True}})
    lines = [
        "*Ask about our AI tools and policies*: send me a direct message, mention me in a channel (I answer in the "
        "thread), or use `/rollout <your question>` (only you see the answer).",
        "*Follow up*: reply in the same thread (mention me there in channels) and I'll read your question together "
        "with the earlier questions and answers.",
        "*Sources*: every answer lists the policy documents it comes from. When the documents don't say, I tell you "
        "so rather than guess.",
        "*Rate answers or ask a person*: use :+1: *Helpful*, :-1: *Not helpful* or :raising_hand: *Ask a person* "
        "under any answer.",
        f"*Keep secrets out*: never paste passwords, keys, tokens or card numbers. If you do, I'll warn you and won't "
        f"store the message. I can't read files yet, and I answer up to {rate_limit} per person.",
    ]
    blocks += text_sections("\n".join(f"• {line}" for line in lines), "help_text")
    usage = "\n".join(f"`{command}`: {description}" for command, description in commands)
    blocks.append(context(f"*Commands*\n{usage}", "help_commands"))
    blocks.append({"type": "actions", "block_id": "help_actions", "elements": [incident_button()]})
    return blocks


def shown_sources(answer: Answer, expanded: bool = False) -> list[Source]:
    """The sources listed under an answer (see Answer.shown_sources)."""
    return answer.shown_sources(expanded)


def sources_text(sources: Sequence[Source], answered: bool) -> str:
    """'*Sources*' and one '[n] Title › Section' line per source, linked where the document has a URL."""
    lines = ["*Sources*" if answered else "*You could look at*"]
    for source in sources:
        label = escape(source.label)
        shown = link(source.url, label, show_host=False) if source.url and is_web_url(source.url) else label
        lines.append(f"[{source.number}] {shown}")
    return "\n".join(lines)

"""Block Kit for pilot feedback: the vote acknowledgement under an answer, the 👎 reason modal, the survey modal, the
pulse-survey DM and the App Home tab. Small pure functions; bot/feedback/listeners.py sends what they build."""
from __future__ import annotations

import re
from collections.abc import Sequence

from bot.answering.blocks import answer_marker
from bot.feedback.ratings import COMMENT_LIMIT, REASON_LABELS
from bot.feedback.surveys import SAVED_TIME, TEAMS, TEXT_LIMIT
from bot.slack.blocks import button, context, escape, shorten, text_sections

REASON_MODAL, SURVEY_MODAL, SURVEY_OPEN = "feedback_reason", "survey", "survey_open"
VOTE_STATUS = "feedback_status"
HELPFUL_OR_NOT = re.compile(r"^feedback_(?:helpful|not_helpful)$")
PULSE_TEXT = ("How is Rollout working for you? Two minutes of feedback helps us decide what to fix before everyone "
              "gets it.")


def voted_blocks(message_blocks: Sequence[dict], acknowledgement: str,
                 conversation_id: int | None = None) -> list[dict]:
    """The answer as it was, with one status line under its buttons saying the vote was received (under that answer's
    buttons, in a message listing several answers: a policy-change recall)."""
    blocks = [dict(b) for b in message_blocks if b.get("block_id") != VOTE_STATUS]
    status = context(acknowledgement, VOTE_STATUS)
    marker = answer_marker(conversation_id) if conversation_id is not None else None
    at = next((i + 1 for i, b in enumerate(blocks) if b.get("block_id") == marker), None) or \
        next((i + 1 for i, b in enumerate(blocks) if b.get("type") == "actions"), len(blocks))
    return blocks[:at] + [status] + blocks[at:]


def _option(value: str, label: str) -> dict:
    return {"text": {"type": "plain_text", "text": label}, "value": value}


def _input(block_id: str, label: str, element: dict, optional: bool = False, hint: str | None = None) -> dict:
    block = {"type": "input", "block_id": block_id, "optional": optional,
             "label": {"type": "plain_text", "text": label}, "element": {**element, "action_id": block_id}}
    if hint:
        block["hint"] = {"type": "plain_text", "text": hint}
    return block


def _text_input(limit: int, placeholder: str) -> dict:
    return {"type": "plain_text_input", "multiline": True, "max_length": limit,
            "placeholder": {"type": "plain_text", "text": placeholder}}


def _modal(callback_id: str, title: str, blocks: list[dict], metadata: str = "") -> dict:
    return {"type": "modal", "callback_id": callback_id, "private_metadata": metadata,
            "title": {"type": "plain_text", "text": title}, "submit": {"type": "plain_text", "text": "Send"},
            "close": {"type": "plain_text", "text": "Skip"}, "blocks": blocks}


def reason_modal(conversation_id: int) -> dict:
    """The optional "what was wrong?" modal a 👎 opens."""
    options = [_option(value, label) for value, label in REASON_LABELS.items()]
    return _modal(REASON_MODAL, "What went wrong?", [
        context("Thanks, your :-1: is recorded. Telling us why is optional and helps us fix the documents.", "intro"),
        _input("reason", "The answer…", {"type": "radio_buttons", "options": options}, optional=True),
        _input("comment", "Anything to add?", _text_input(COMMENT_LIMIT, "Leave out personal data and secrets"),
               optional=True),
    ], metadata=str(conversation_id))


def survey_modal() -> dict:
    """The pilot survey: ease of use and usefulness 1–5, time saved, problems met, team, anything else."""
    score = {"type": "number_input", "is_decimal_allowed": False, "min_value": "1", "max_value": "5"}
    return _modal(SURVEY_MODAL, "Rollout feedback", [
        _input("ease", "How easy is Rollout to use? (1–5)", score, hint="1 = very hard, 5 = very easy"),
        _input("usefulness", "How useful are its answers? (1–5)", score, hint="1 = useless, 5 = very useful"),
        _input("saved_time", "Did it save you time?",
               {"type": "radio_buttons", "options": [_option(v, label) for v, label in SAVED_TIME.items()]}),
        _input("problems", "Technical problems you met", _text_input(TEXT_LIMIT, "e.g. no answer, slow, errors"),
               optional=True),
        _input("team", "Your team or function",
               {"type": "static_select", "placeholder": {"type": "plain_text", "text": "Choose"},
                "options": [_option(v, label) for v, label in TEAMS.items()]}),
        _input("comment", "Anything else?", _text_input(TEXT_LIMIT, "Ideas, wishes, praise…"), optional=True),
    ])


def feedback_button() -> dict:
    return {"type": "actions", "block_id": "give_feedback",
            "elements": [button(SURVEY_OPEN, ":speech_balloon: Give feedback", "survey", primary=True)]}


def pulse_message(reminder: bool = False) -> dict:
    """The pulse-survey DM (text and blocks) with the "Give feedback" button."""
    text = (":wave: A gentle reminder: " if reminder else ":wave: ") + PULSE_TEXT
    return {"text": text, "blocks": text_sections(text, "pulse_text") + [feedback_button()]}


def home_view(recent: Sequence[tuple[str, bool]], admin: Sequence[str] | None = None,
              gaps: Sequence[str] = (), admin_extra: Sequence[dict] = ()) -> dict:
    """The App Home: admins see headline figures and knowledge gaps; everyone sees how to use Rollout, their recent
    questions and the "Give feedback" button. `recent`: (question, answered) pairs, newest first."""
    blocks: list[dict] = [{"type": "header", "block_id": "home_header",
                           "text": {"type": "plain_text", "text": "Rollout", "emoji": True}}]
    if admin is not None:
        blocks += text_sections("*This week (admins)*\n" + "\n".join(f"• {escape(line)}" for line in admin),
                                "home_figures")
        gap_lines = [f"• {escape(shorten(g, 200))}" for g in gaps] or ["• none this week"]
        blocks += text_sections("*Top knowledge gaps*\n" + "\n".join(gap_lines), "home_gaps")
        blocks += list(admin_extra)
        blocks.append({"type": "divider", "block_id": "home_admin_end"})
    blocks += text_sections(
        "*How to use Rollout*\n• Send me a direct message, mention me in a channel, or type `/rollout <question>`.\n"
        "• Every answer cites the policy documents it comes from; rate it with :+1: or :-1:.\n"
        "• Never paste passwords, keys or customer data.", "home_help")
    lines = [f"• {escape(shorten(q, 150))}{'' if answered else ' _(not answered)_'}" for q, answered in recent]
    blocks += text_sections("*Your recent questions*\n" + ("\n".join(lines) or "None yet: ask me anything about "
                                                                          "our AI tools and policies."), "home_recent")
    blocks.append(feedback_button())
    return {"type": "home", "blocks": blocks}

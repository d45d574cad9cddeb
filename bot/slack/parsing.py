"""Slack payloads to the product's terms: which messages are questions, their text as the employee wrote it, and the
dedupe keys of acked work."""
from __future__ import annotations

import re
import uuid

from bot.answering.asking import Question

# Message subtypes that are an employee writing to us; every other subtype (edits, deletions, joins, bots) is not.
QUESTION_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})

_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|([^>]*))?>")
_CHANNEL = re.compile(r"<#[CG][A-Z0-9]+\|([^>]*)>")
_SPECIAL = re.compile(r"<!(here|channel|everyone)(?:\|[^>]*)?>|<!subteam\^[A-Z0-9]+(?:\|([^>]*))?>")


def is_from_a_person(event: dict, bot_user_id: str | None) -> bool:
    """False for bots (ourselves included), edits, deletions, joins and other system messages."""
    if event.get("bot_id") or event.get("bot_profile") or event.get("hidden"):
        return False
    if event.get("subtype") not in QUESTION_SUBTYPES:
        return False
    user = event.get("user")
    return bool(user) and user != bot_user_id


def message_question(event: dict, bot_user_id: str | None, in_channel: bool) -> Question | None:
    """The question in a DM (`in_channel` False) or a mention, or None when there is nothing to answer."""
    if not is_from_a_person(event, bot_user_id):
        return None
    channel, ts = event.get("channel"), event.get("ts")
    if not channel or not ts:
        return None
    text = plain_text(event.get("text") or "", bot_user_id)
    has_files = bool(event.get("files")) or event.get("subtype") == "file_share"
    if not text and not has_files:
        return None
    thread_ts = event.get("thread_ts") or ts
    source = "thread" if thread_ts != ts else ("mention" if in_channel else "dm")
    return Question(user_id=event["user"], channel_id=channel, text=text, source=source,
                    dedupe_key=message_key(channel, ts), message_ts=ts, thread_ts=thread_ts, has_files=has_files)


def message_key(channel: str, ts: str) -> str:
    """One key per Slack message, however many events (app_mention, message.*, retries) announce it."""
    return f"message:{channel}:{ts}"


def _link_words(match: re.Match) -> str:
    """A link as words that show where it really goes: '<https://evil|https://sso>' is 'https://sso (https://evil)'."""
    url, label = match.group(1), match.group(2)
    return f"{label} ({url})" if label and label != url and label != url.split("://", 1)[-1] else url


def plain_text(text: str, bot_user_id: str | None = None) -> str:
    """Slack's message markup as a person reads it, without the mention of the bot."""
    text = _MENTION.sub(lambda m: "" if m.group(1) == bot_user_id else f"@{m.group(1)}", text)
    text = _LINK.sub(_link_words, text)
    text = _CHANNEL.sub(lambda m: f"#{m.group(1)}", text)
    text = _SPECIAL.sub(lambda m: "@" + (m.group(1) or m.group(2) or "group").lstrip("@"), text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return re.sub(r"[ \t]+", " ", text).strip()


# The dedupe keys of acked work (bot/answering/intake.py): from the payload, so that Slack sending the same request
# again (a retry) finds the work already recorded.

def command_key(kind: str, command: dict) -> str:
    """A slash command's: its trigger_id."""
    return f"{kind}:{command.get('trigger_id') or uuid.uuid4().hex}"


def click_key(kind: str, body: dict, action: dict) -> str:
    """A click's: who clicked, and the click's action_ts (its trigger_id where Slack gives none)."""
    user = (body.get("user") or {}).get("id", "")
    return f"{kind}:{user}:{action.get('action_ts') or body.get('trigger_id') or uuid.uuid4().hex}"


def view_key(kind: str, view: dict) -> str:
    """A modal submission's: the view's id and hash, the same while that modal is open and unchanged."""
    return f"{kind}:{view.get('id')}:{view.get('hash') or ''}"

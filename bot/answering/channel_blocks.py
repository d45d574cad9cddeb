"""Block Kit for channel settings (issue 15): the `/rollout settings` modal, reading its submission, and the App Home
section listing configured channels. Pure functions; ids come from Slack and our validated settings, never from text
people typed, so `<#C…>` links are safe to build."""
from __future__ import annotations

from collections.abc import Sequence

from bot.answering.channel_settings import describe
from bot.answering.channel_store import ANSWER_MODES, ChannelSettings
from bot.slack.blocks import context, escape, text_sections

SETTINGS_MODAL = "channel_settings"
MODE_LABELS = {"mention": "When mentioned (default)", "auto": "Every question it can answer (auto)",
               "off": "Off: no answers in this channel"}
PRIVATE = "private"


def settings_modal(settings: ChannelSettings) -> dict:
    """The modal for one channel's settings, filled with what is stored; the channel id rides in private_metadata."""
    modes = [_option(mode, MODE_LABELS[mode]) for mode in ANSWER_MODES]
    private = _option(PRIVATE, "Answer mentions privately, with a Share in channel button")
    escalate = {"type": "conversations_select", "placeholder": _plain("Default helpdesk channel"),
                "filter": {"include": ["public", "private"], "exclude_bot_users": True}}
    if settings.escalate_to:
        escalate["initial_conversation"] = settings.escalate_to
    audience = {"type": "plain_text_input", "max_length": 300, "placeholder": _plain("e.g. pilot, engineering")}
    if settings.audience:
        audience["initial_value"] = ", ".join(settings.audience)
    checkboxes = {"type": "checkboxes", "options": [private]}
    if settings.private_answers:
        checkboxes["initial_options"] = [private]
    blocks = [
        context(f"Settings for <#{settings.channel_id}>; they apply at once, for everyone in the channel.", "intro"),
        _input("answer_mode", "Answer questions", {"type": "static_select", "options": modes,
                                                   "initial_option": _option(settings.answer_mode,
                                                                             MODE_LABELS[settings.answer_mode])},
               hint="Auto answers top-level questions without a mention, only when the documents answer them."),
        _input("private_answers", "Private answers", checkboxes, optional=True),
        _input("audience", "Audiences", audience, optional=True,
               hint="Which documents apply here, comma-separated; empty for everyone's."),
        _input("escalate_to", "Send tickets to", escalate, optional=True,
               hint="The helpdesk channel for Ask a person from this channel; empty for the default."),
    ]
    return {"type": "modal", "callback_id": SETTINGS_MODAL, "private_metadata": settings.channel_id,
            "title": _plain("Channel settings"), "submit": _plain("Save"), "close": _plain("Cancel"),
            "blocks": blocks}


def submitted(values: dict) -> dict:
    """The modal's state as Channels.change arguments."""
    def field(block_id: str) -> dict:
        return (values.get(block_id) or {}).get(block_id) or {}

    return {"answer_mode": (field("answer_mode").get("selected_option") or {}).get("value") or "",
            "private_answers": any(o.get("value") == PRIVATE for o in field("private_answers").get("selected_options")
                                   or []),
            "audience": field("audience").get("value") or "",
            "escalate_to": field("escalate_to").get("selected_conversation") or ""}


def saved_text(settings: ChannelSettings, default_helpdesk: str | None) -> str:
    """The confirmation an admin sees after saving."""
    return f":white_check_mark: Saved the settings for <#{settings.channel_id}>: " + _summary(settings,
                                                                                             default_helpdesk)


def channel_settings_home(configured: Sequence[ChannelSettings], default_helpdesk: str | None = None) -> list[dict]:
    """The admins' App Home section: every configured channel and its settings."""
    lines = [f"• <#{s.channel_id}>: {_summary(s, default_helpdesk)}" for s in configured]
    body = "\n".join(lines) or "• none yet: every channel answers mentions, publicly"
    return text_sections("*Channel settings* (change one with `/rollout settings` in the channel)\n" + body,
                         "home_channels")


def _summary(settings: ChannelSettings, default_helpdesk: str | None) -> str:
    parts = []
    for label, value in describe(settings, default_helpdesk):
        if label == "escalate to" and settings.escalate_to:
            value = f"<#{settings.escalate_to}>"
        parts.append(f"{label} {escape(value)}" if not value.startswith("<#") else f"{label} {value}")
    return "; ".join(parts)


def _plain(text: str) -> dict:
    return {"type": "plain_text", "text": text}


def _option(value: str, label: str) -> dict:
    return {"text": _plain(label), "value": value}


def _input(block_id: str, label: str, element: dict, optional: bool = False, hint: str | None = None) -> dict:
    block = {"type": "input", "block_id": block_id, "optional": optional, "label": _plain(label),
             "element": {**element, "action_id": block_id}}
    if hint:
        block["hint"] = _plain(hint)
    return block

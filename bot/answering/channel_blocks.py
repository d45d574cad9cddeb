"""Block Kit for channel settings (issue 15): the settings modal (from `/rollout settings` or App Home), reading its
submission, and admins' App Home section: each configured channel with *Edit*, and a channel picker for the others.
Pure functions; ids come from Slack and our validated settings, never from text people typed, so `<#C…>` links are
safe to build."""
from __future__ import annotations

from collections.abc import Sequence

from bot.answering.channel_settings import describe
from bot.answering.channel_store import ANSWER_MODES, ChannelSettings
from bot.slack.blocks import button, context, escape

SETTINGS_MODAL = "channel_settings"
EDIT_CHANNEL = "channel_settings_edit"  # App Home: a configured channel's Edit (value: its id)
PICK_CHANNEL = "channel_settings_pick"  # App Home: a conversations_select for a channel not configured yet
FROM_HOME = "home"  # the modal's origin, after its channel id in private_metadata: saving refreshes App Home
HOME_CHANNELS = 20  # configured channels listed with Edit; the rest are in `rollout channels list`
MODE_LABELS = {"mention": "When mentioned (default)", "auto": "Every question it can answer (auto)",
               "off": "Off: no answers in this channel"}
PRIVATE = "private"


def settings_modal(settings: ChannelSettings, from_home: bool = False) -> dict:
    """The modal for one channel's settings, filled with what is stored; the channel id (and, opened from App Home,
    FROM_HOME) rides in private_metadata."""
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
    metadata = f"{settings.channel_id} {FROM_HOME}" if from_home else settings.channel_id
    return {"type": "modal", "callback_id": SETTINGS_MODAL, "private_metadata": metadata,
            "title": _plain("Channel settings"), "submit": _plain("Save"), "close": _plain("Cancel"),
            "blocks": blocks}


def modal_channel(private_metadata: str) -> tuple[str, bool]:
    """The channel id a submitted modal is for, and whether it was opened from App Home."""
    channel_id, _, origin = (private_metadata or "").partition(" ")
    return channel_id, origin == FROM_HOME


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
    """The admins' App Home section: every configured channel with its settings and Edit, and a picker that opens the
    same modal for any other channel."""
    intro = ("*Channel settings* (Edit opens the same form as `/rollout settings` in the channel)"
             + ("" if configured else "\nNone yet: every channel answers mentions, publicly."))
    blocks = [{"type": "section", "block_id": "home_channels", "text": {"type": "mrkdwn", "text": intro}}]
    for settings in configured[:HOME_CHANNELS]:
        blocks.append({"type": "section", "block_id": f"home_channel_{settings.channel_id}",
                       "text": {"type": "mrkdwn",
                                "text": f"• <#{settings.channel_id}>: {_summary(settings, default_helpdesk)}"},
                       "accessory": button(EDIT_CHANNEL, "Edit", settings.channel_id)})
    if len(configured) > HOME_CHANNELS:
        blocks.append(context(f"…and {len(configured) - HOME_CHANNELS} more: `rollout channels list` shows them all; "
                              "pick one below to edit it.", "home_channels_more"))
    picker = {"type": "conversations_select", "action_id": PICK_CHANNEL,
              "placeholder": _plain("Set up another channel…"),
              "filter": {"include": ["public", "private"], "exclude_bot_users": True}}
    blocks.append({"type": "actions", "block_id": "home_channel_pick", "elements": [picker]})
    return blocks


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

"""Block Kit for deployment communications: announcements, acknowledgement requests, the announce modal and the
admin's list. Small pure functions over the shared builders in bot/slack/blocks.py."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.slack.blocks import button, context, escape, fallback_text, shorten, text_sections, to_mrkdwn

ACK_ACCEPT = "ack_accept"
ANNOUNCE_MODAL = "announce_modal"
ANNOUNCE_CONFIRM, ANNOUNCE_DISCARD = "announce_confirm", "announce_discard"
ANNOUNCE_CANCEL = "announce_cancel"  # + ":<id>" on the App Home, one button per announcement
FOOTER = "Sent by Rollout · questions about AI at work? Send me a direct message."
MAX_SOURCES_SHOWN = 5


def message(blocks: list[dict], text: str) -> dict:
    """A message payload: blocks, and the plain notification text that goes with them."""
    return {"text": fallback_text(text), "blocks": blocks}


def announcement_message(text: str) -> dict:
    """An announcement: its Markdown as Slack mrkdwn, then a small footer."""
    blocks = text_sections(to_mrkdwn(text), "announcement") + [context(FOOTER, "announcement_footer")]
    return message(blocks, text)


def ack_request_message(campaign, reminder: bool = False) -> dict:
    """Ask someone to read and accept a policy: a cited summary, the link, the deadline and the accept button."""
    title, version = escape(campaign.policy_title), campaign.policy_version[:12]
    lead = ":bell: *Reminder:* please read and accept" if reminder else ":page_facing_up: Please read and accept"
    blocks = [{"type": "section", "block_id": "ack_intro",
               "text": {"type": "mrkdwn", "text": f"{lead} *{title}* (version `{version}`)."}}]
    blocks += text_sections(to_mrkdwn(campaign.summary), "ack_summary")
    if campaign.sources:
        blocks.append(context(_sources_line(campaign.sources), "ack_sources"))
    blocks.append(context(f"Please accept by *{_date(campaign.deadline, campaign.tz)}*.", "ack_deadline"))
    elements = [button(ACK_ACCEPT, "I have read and accept", str(campaign.id), primary=True)]
    if campaign.policy_url:
        elements.append({"type": "button", "action_id": "ack_open_policy", "url": campaign.policy_url,
                         "text": {"type": "plain_text", "text": "Read the policy"}})
    blocks.append({"type": "actions", "block_id": f"ack_actions_{campaign.id}", "elements": elements})
    return message(blocks, f"{'Reminder: ' if reminder else ''}please read and accept {campaign.policy_title}")


def ack_accepted_message(campaign, accepted_at: datetime) -> dict:
    """What the request turns into once accepted."""
    text = (f":white_check_mark: You accepted *{escape(campaign.policy_title)}* (version "
            f"`{campaign.policy_version[:12]}`) on {_date(accepted_at, campaign.tz, with_time=True)}. Thank you!")
    return message([{"type": "section", "block_id": "ack_done", "text": {"type": "mrkdwn", "text": text}}], text)


def announcement_preview(announcement, when: str) -> dict:
    """The admin's preview DM: the message as it will look, when and to whom, and Schedule / Discard."""
    targets = ", ".join(_target(t) for t in announcement.targets)
    blocks = [context(f":eyes: *Preview* · {escape(when)} · to {targets}", "announce_preview_header")]
    blocks += announcement_message(announcement.text)["blocks"]
    blocks.append({"type": "actions", "block_id": "announce_preview_actions", "elements": [
        button(ANNOUNCE_CONFIRM, "Schedule it", announcement.id, primary=True),
        button(ANNOUNCE_DISCARD, "Discard", announcement.id)]})
    return message(blocks, f"Preview of an announcement to {', '.join(announcement.targets)}")


def announcement_list(rows: Sequence[tuple[object, str]]) -> list[dict]:
    """The admin's scheduled announcements (announcement, when), each with a Cancel button (App Home)."""
    blocks: list[dict] = [{"type": "header", "block_id": "announcements_header",
                           "text": {"type": "plain_text", "text": "Scheduled announcements"}}]
    if not rows:
        return blocks + [context("Nothing scheduled. Use `/rollout announce` to schedule a message.",
                                 "announcements_empty")]
    for announcement, when in rows[:40]:
        summary = f"*{escape(when)}* · {', '.join(_target(t) for t in announcement.targets)}\n" \
                  f"{shorten(to_mrkdwn(announcement.text), 200)}"
        blocks.append({"type": "section", "block_id": f"announcement_{announcement.id}"[:255],
                       "text": {"type": "mrkdwn", "text": summary},
                       "accessory": button(f"{ANNOUNCE_CANCEL}:{announcement.id}", "Cancel", announcement.id)})
    return blocks


def announce_modal(tz: str) -> dict:
    """The /rollout announce modal: message, audience, once or recurring, time zone."""
    blocks = [
        _input("message", "Message (Markdown)", {"type": "plain_text_input", "multiline": True, "max_length": 3000}),
        _input("audience", "Audience", {"type": "plain_text_input",
                                         "placeholder": {"type": "plain_text", "text": "C0123ABCD pilot engineering"}},
               hint="Channel ids, user ids, user group handles or 'pilot', separated by spaces"),
        _input("at", "Send once at", {"type": "datetimepicker"}, optional=True),
        _input("cron", "…or repeat (cron)", {"type": "plain_text_input",
                                             "placeholder": {"type": "plain_text", "text": "0 9 * * mon"}},
               optional=True, hint="minute hour day-of-month month day-of-week, e.g. 0 9 * * mon"),
        _input("tz", "Time zone", {"type": "plain_text_input", "initial_value": tz}),
    ]
    return {"type": "modal", "callback_id": ANNOUNCE_MODAL, "title": {"type": "plain_text", "text": "Announce"},
            "submit": {"type": "plain_text", "text": "Preview"}, "close": {"type": "plain_text", "text": "Cancel"},
            "blocks": blocks}


def _input(block_id: str, label: str, element: dict, optional: bool = False, hint: str | None = None) -> dict:
    block = {"type": "input", "block_id": block_id, "label": {"type": "plain_text", "text": label},
             "element": {**element, "action_id": block_id}, "optional": optional}
    if hint:
        block["hint"] = {"type": "plain_text", "text": hint}
    return block


def _sources_line(sources: Sequence[dict]) -> str:
    parts = []
    for source in sources[:MAX_SOURCES_SHOWN]:
        label = escape(source.get("label") or source.get("title") or source.get("path", ""))
        url = source.get("url")
        parts.append(f"[{source.get('number', len(parts) + 1)}] " + (f"<{url}|{label}>" if url else label))
    return "Sources: " + " · ".join(parts)


def _target(target: str) -> str:
    if target[:1] in ("C", "G") and target.isupper():
        return f"<#{target}>"
    if target[:1] in ("U", "W") and target.isupper():
        return f"<@{target}>"
    return escape(target)


def _date(moment: datetime, tz: str, with_time: bool = False) -> str:
    from zoneinfo import ZoneInfo

    local = moment.astimezone(ZoneInfo(tz))
    return local.strftime("%a %d %b %Y" + (" %H:%M %Z" if with_time else ""))

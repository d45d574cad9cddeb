"""The payloads Slack sends to an app, shaped as Slack shapes them (HTTP and Socket Mode share them)."""

import itertools
import time
import uuid

TEAM_ID = "T0ROLLOUT"
TEAM_DOMAIN = "rollout-test"
APP_ID = "A0ROLLOUT"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
VERIFICATION_TOKEN = "legacy-verification-token"
_sequence = itertools.count(1)


def new_ts() -> str:
    """A unique Slack timestamp for the current time."""
    return f"{time.time():.6f}"


def trigger_id() -> str:
    """A trigger id in Slack's shape."""
    return f"{next(_sequence)}.{int(time.time())}.{uuid.uuid4().hex[:32]}"


def message_event(text: str, user: str = "U0ALICE", channel: str = "C0GENERAL", ts: str | None = None,
                  thread_ts: str | None = None, channel_type: str = "channel") -> dict:
    """A `message` event as a user posts it."""
    ts = ts or new_ts()
    event = {"type": "message", "user": user, "text": text, "ts": ts, "team": TEAM_ID, "channel": channel,
             "event_ts": ts, "channel_type": channel_type, "client_msg_id": str(uuid.uuid4())}
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def app_mention_event(text: str, user: str = "U0ALICE", channel: str = "C0GENERAL", ts: str | None = None,
                      thread_ts: str | None = None) -> dict:
    """An `app_mention` event; `text` should contain f"<@{BOT_USER_ID}>" as Slack's does."""
    event = message_event(text, user, channel, ts, thread_ts)
    del event["channel_type"]
    return {**event, "type": "app_mention"}


def event_callback(event: dict, event_id: str | None = None, team_id: str = TEAM_ID,
                   bot_user_id: str = BOT_USER_ID) -> dict:
    """The Events API envelope around one event."""
    return {
        "token": VERIFICATION_TOKEN, "team_id": team_id, "api_app_id": APP_ID, "event": event,
        "type": "event_callback", "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event_time": int(time.time()), "is_ext_shared_channel": False,
        "authorizations": [{"enterprise_id": None, "team_id": team_id, "user_id": bot_user_id, "is_bot": True,
                            "is_enterprise_install": False}],
        "event_context": f"4-{uuid.uuid4().hex}",
    }


def command_form(command: str = "/rollout", text: str = "", user_id: str = "U0ALICE",
                 channel_id: str = "C0GENERAL", response_url: str = "", trigger: str | None = None) -> dict:
    """The fields of a slash command (Slack form-encodes them over HTTP)."""
    return {
        "token": VERIFICATION_TOKEN, "team_id": TEAM_ID, "team_domain": TEAM_DOMAIN, "channel_id": channel_id,
        "channel_name": "general", "user_id": user_id, "user_name": user_id.lower(), "command": command,
        "text": text, "api_app_id": APP_ID, "is_enterprise_install": "false", "response_url": response_url,
        "trigger_id": trigger or trigger_id(),
    }


def _user(user_id: str) -> dict:
    return {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": TEAM_ID}


def _interaction(kind: str, user_id: str) -> dict:
    return {"type": kind, "user": _user(user_id), "api_app_id": APP_ID, "token": VERIFICATION_TOKEN,
            "trigger_id": trigger_id(), "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN}, "enterprise": None,
            "is_enterprise_install": False}


def block_actions(action_id: str, value: str = "", user_id: str = "U0ALICE", channel_id: str = "C0GENERAL",
                  message_ts: str | None = None, blocks: list | None = None, block_id: str = "actions",
                  response_url: str = "", state: dict | None = None, ephemeral: bool = False) -> dict:
    """A `block_actions` payload for a button clicked in a bot message; an `ephemeral` one (a slash command's
    answer) comes without the message, as Slack sends it."""
    message_ts = message_ts or new_ts()
    action = {"type": "button", "action_id": action_id, "block_id": block_id, "value": value,
              "text": {"type": "plain_text", "text": action_id}, "action_ts": new_ts()}
    payload = {
        **_interaction("block_actions", user_id),
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel_id,
                      "is_ephemeral": ephemeral},
        "channel": {"id": channel_id, "name": "general"},
        "message": {"type": "message", "user": BOT_USER_ID, "bot_id": BOT_ID, "ts": message_ts, "text": "",
                    "blocks": blocks or []},
        "state": {"values": state or {}}, "response_url": response_url, "actions": [action],
    }
    if ephemeral:
        del payload["message"]
    return payload


def home_block_actions(action_id: str, user_id: str = "U0ALICE", value: str | None = None,
                       selected_conversation: str | None = None, view: dict | None = None) -> dict:
    """A `block_actions` payload from the App Home tab: a button (`value`) or a conversations_select
    (`selected_conversation`). Slack sends the Home view and no channel, message or response_url."""
    action = {"action_id": action_id, "block_id": "home", "action_ts": new_ts()}
    if selected_conversation is not None:
        action |= {"type": "conversations_select", "selected_conversation": selected_conversation}
    else:
        action |= {"type": "button", "value": value or "", "text": {"type": "plain_text", "text": action_id}}
    view_id = f"VHOME{user_id}"
    home = {"id": view_id, "team_id": TEAM_ID, "type": "home", "blocks": [], "private_metadata": "",
            "callback_id": "", "state": {"values": {}}, "hash": uuid.uuid4().hex, "app_id": APP_ID, **(view or {})}
    return {**_interaction("block_actions", user_id), "container": {"type": "view", "view_id": view_id},
            "view": home, "actions": [action]}


def view_submission(callback_id: str, values: dict, user_id: str = "U0ALICE", private_metadata: str = "",
                    blocks: list | None = None, view_id: str | None = None) -> dict:
    """A `view_submission` payload; `values` is {block_id: {action_id: {"type": ..., "value": ...}}}."""
    view_id = view_id or f"V{uuid.uuid4().hex[:10].upper()}"
    view = {"id": view_id, "team_id": TEAM_ID, "type": "modal",
            "callback_id": callback_id, "private_metadata": private_metadata, "blocks": blocks or [],
            "state": {"values": values}, "hash": uuid.uuid4().hex, "title": {"type": "plain_text", "text": "Rollout"},
            "previous_view_id": None, "root_view_id": view_id, "app_id": APP_ID, "external_id": "",
            "app_installed_team_id": TEAM_ID, "bot_id": BOT_ID}
    return {**_interaction("view_submission", user_id), "view": view, "response_urls": []}

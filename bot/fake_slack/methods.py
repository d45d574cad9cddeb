"""Web API methods of the fake Slack: each takes the Workspace and the call's params and returns Slack's JSON."""

import uuid
from collections.abc import Callable

from .payloads import APP_ID, BOT_ID, TEAM_DOMAIN, TEAM_ID
from .workspace import Workspace

Handler = Callable[[Workspace, dict], dict]
METHODS: dict[str, Handler] = {}
MESSAGE_TEXT_LIMIT = 40_000


def method(name: str) -> Callable[[Handler], Handler]:
    """Register a handler for one Web API method."""
    def register(handler: Handler) -> Handler:
        METHODS[name] = handler
        return handler
    return register


def error(code: str, **extra) -> dict:
    """Slack's error reply."""
    return {"ok": False, "error": code, **extra}


def missing(field_name: str) -> dict:
    """Slack's answer to a call without a required argument."""
    return error("invalid_arguments", response_metadata={"messages": [f"[ERROR] missing required field: {field_name}"]})


def message_problem(params: dict) -> str | None:
    """Why Slack would refuse to post this message, if it would."""
    if not (params.get("text") or params.get("blocks") or params.get("attachments")):
        return "no_text"
    if len(str(params.get("text") or "")) > MESSAGE_TEXT_LIMIT:
        return "msg_too_long"
    return None


@method("auth.test")
def auth_test(ws: Workspace, params: dict) -> dict:
    """Who the token belongs to."""
    return {"ok": True, "url": f"https://{TEAM_DOMAIN}.slack.com/", "team": "Rollout Test", "user": "rollout",
            "team_id": TEAM_ID, "user_id": ws.bot_user_id, "bot_id": BOT_ID, "is_enterprise_install": False}


@method("chat.postMessage")
def chat_post_message(ws: Workspace, params: dict) -> dict:
    """Store the message (threads included) and echo it back."""
    if not params.get("channel"):
        return error("channel_not_found")
    if problem := message_problem(params):
        return error(problem)
    channel = ws.resolve_channel(params["channel"])
    message = ws.add_message(channel, params.get("text") or "", blocks=params.get("blocks"),
                             thread_ts=params.get("thread_ts"))
    if params.get("attachments"):
        message["attachments"] = params["attachments"]
    return {"ok": True, "channel": channel, "ts": message["ts"], "message": message}


@method("chat.update")
def chat_update(ws: Workspace, params: dict) -> dict:
    """Replace a stored message's text/blocks."""
    channel = params.get("channel", "")
    message = ws.find_message(channel, params.get("ts", ""))
    if message is None:
        return error("message_not_found")
    if len(str(params.get("text") or "")) > MESSAGE_TEXT_LIMIT:
        return error("msg_too_long")
    message.update({k: params[k] for k in ("text", "blocks", "attachments") if k in params})
    message["edited"] = {"user": ws.bot_user_id, "ts": ws.next_ts()}
    return {"ok": True, "channel": channel, "ts": message["ts"], "text": message["text"], "message": message}


@method("chat.postEphemeral")
def chat_post_ephemeral(ws: Workspace, params: dict) -> dict:
    """An ephemeral message is shown once and never stored."""
    if not params.get("channel"):
        return error("channel_not_found")
    if not params.get("user"):
        return error("user_not_in_channel")
    if problem := message_problem(params):
        return error(problem)
    return {"ok": True, "message_ts": ws.next_ts()}


@method("chat.getPermalink")
def chat_get_permalink(ws: Workspace, params: dict) -> dict:
    """The link to a message."""
    channel, ts = params.get("channel", ""), params.get("message_ts", "")
    return {"ok": True, "channel": channel, "permalink": ws.permalink(channel, ts)}


@method("chat.delete")
def chat_delete(ws: Workspace, params: dict) -> dict:
    """Remove a stored message."""
    channel, ts = params.get("channel", ""), params.get("ts", "")
    message = ws.find_message(channel, ts)
    if message is None:
        return error("message_not_found")
    ws.messages[channel].remove(message)
    return {"ok": True, "channel": channel, "ts": ts}


@method("reactions.add")
def reactions_add(ws: Workspace, params: dict) -> dict:
    """React to a message once per emoji."""
    key = (params.get("channel", ""), params.get("timestamp", ""), params.get("name", ""))
    if key in ws.reactions:
        return error("already_reacted")
    ws.reactions.add(key)
    return {"ok": True}


@method("reactions.remove")
def reactions_remove(ws: Workspace, params: dict) -> dict:
    """Take a reaction back."""
    key = (params.get("channel", ""), params.get("timestamp", ""), params.get("name", ""))
    if key not in ws.reactions:
        return error("no_reaction")
    ws.reactions.discard(key)
    return {"ok": True}


@method("users.info")
def users_info(ws: Workspace, params: dict) -> dict:
    """A user's profile, time zone included."""
    if not params.get("user"):
        return error("user_not_found")
    return {"ok": True, "user": ws.user(params["user"])}


@method("users.lookupByEmail")
def users_lookup_by_email(ws: Workspace, params: dict) -> dict:
    """Find a registered user by profile email."""
    email = str(params.get("email", "")).lower()
    user = next((u for u in ws.users.values() if u["profile"]["email"].lower() == email), None)
    return {"ok": True, "user": user} if user else error("users_not_found")


@method("conversations.open")
def conversations_open(ws: Workspace, params: dict) -> dict:
    """Open (or reuse) the DM with one user, or a group DM with several."""
    users = [u for u in str(params.get("users", "")).split(",") if u]
    if not users:
        return error("users_list_not_supplied")
    already_open = any(c.get("user") == users[0] and c.get("is_im") for c in ws.channels.values())
    channel = ws.open_dm(users)
    return {"ok": True, "no_op": already_open, "already_open": already_open, "channel": {"id": channel["id"]}}


@method("conversations.info")
def conversations_info(ws: Workspace, params: dict) -> dict:
    """A channel's details."""
    channel = {k: v for k, v in ws.channel(params.get("channel", "")).items() if k != "members"}
    return {"ok": True, "channel": channel}


@method("conversations.members")
def conversations_members(ws: Workspace, params: dict) -> dict:
    """A channel's member ids."""
    members = ws.channel(params.get("channel", ""))["members"]
    return {"ok": True, "members": members, "response_metadata": {"next_cursor": ""}}


@method("conversations.replies")
def conversations_replies(ws: Workspace, params: dict) -> dict:
    """A thread's messages, parent first."""
    thread = ws.thread(params.get("channel", ""), params.get("ts", ""))
    if not thread:
        return error("thread_not_found")
    return {"ok": True, "messages": thread, "has_more": False, "response_metadata": {"next_cursor": ""}}


@method("conversations.history")
def conversations_history(ws: Workspace, params: dict) -> dict:
    """A channel's top-level messages, newest first."""
    top = [m for m in ws.messages.get(params.get("channel", ""), []) if m.get("thread_ts") in (None, m["ts"])]
    return {"ok": True, "messages": sorted(top, key=lambda m: -float(m["ts"])), "has_more": False}


@method("usergroups.list")
def usergroups_list(ws: Workspace, params: dict) -> dict:
    """The workspace's user groups; member ids only when include_users is set."""
    include_users = str(params.get("include_users", "")).lower() in ("1", "true")
    groups = [g if include_users else {k: v for k, v in g.items() if k != "users"} for g in ws.usergroups.values()]
    return {"ok": True, "usergroups": groups}


@method("usergroups.users.list")
def usergroups_users_list(ws: Workspace, params: dict) -> dict:
    """The member ids of one user group."""
    group = ws.usergroups.get(params.get("usergroup", ""))
    return {"ok": True, "users": group["users"]} if group else error("no_such_subteam")


def store_view(ws: Workspace, view: dict, previous_view_id: str | None = None, view_id: str | None = None) -> dict:
    """Give a view Slack's server-side fields and remember it."""
    view_id = view_id or f"V{uuid.uuid4().hex[:10].upper()}"
    stored = {"id": view_id, "team_id": TEAM_ID, "state": {"values": {}}, "hash": uuid.uuid4().hex,
              "private_metadata": "", "callback_id": "", "external_id": "", "clear_on_close": False,
              "notify_on_close": False, "previous_view_id": previous_view_id, "root_view_id": view_id,
              "app_id": APP_ID, "app_installed_team_id": TEAM_ID, "bot_id": BOT_ID, **view}
    ws.views[view_id] = stored
    return {"ok": True, "view": stored}


@method("views.open")
def views_open(ws: Workspace, params: dict) -> dict:
    """Open a modal; needs the trigger_id of the interaction that asked for it."""
    if not params.get("trigger_id"):
        return missing("trigger_id")
    return store_view(ws, params["view"])


@method("views.push")
def views_push(ws: Workspace, params: dict) -> dict:
    """Push a modal on top of the open one."""
    if not params.get("trigger_id"):
        return missing("trigger_id")
    return store_view(ws, params["view"], previous_view_id=params.get("view_id"))


@method("views.update")
def views_update(ws: Workspace, params: dict) -> dict:
    """Replace an open view, found by view_id or external_id; a stale hash is refused."""
    key = params.get("view_id") or params.get("external_id")
    current = next((v for v in ws.views.values() if key in (v["id"], v.get("external_id") or None)), None)
    if current is None:
        return error("not_found")
    if params.get("hash") and params["hash"] != current["hash"]:
        return error("hash_conflict")
    return store_view(ws, params["view"], current["previous_view_id"], view_id=current["id"])


@method("views.publish")
def views_publish(ws: Workspace, params: dict) -> dict:
    """Publish a user's Home tab."""
    if not params.get("user_id"):
        return missing("user_id")
    return store_view(ws, params["view"], view_id=f"VHOME{params['user_id']}")


@method("files.getUploadURLExternal")
def files_get_upload_url_external(ws: Workspace, params: dict) -> dict:
    """Reserve a file id and a URL to upload its bytes to (on this fake)."""
    if not params.get("filename") or not params.get("length"):
        return missing("filename" if not params.get("filename") else "length")
    file_id = f"F{uuid.uuid4().hex[:10].upper()}"
    ws.files[file_id] = {"id": file_id, "name": params["filename"], "length": int(params["length"]), "content": None}
    return {"ok": True, "upload_url": ws.upload_url(file_id), "file_id": file_id}


@method("files.completeUploadExternal")
def files_complete_upload_external(ws: Workspace, params: dict) -> dict:
    """Finish uploads whose bytes arrived; share them where asked."""
    entries = params.get("files") if isinstance(params.get("files"), list) else []
    files = [ws.files.get(entry.get("id", "")) for entry in entries]
    if not files or any(f is None or f["content"] is None for f in files):
        return error("file_not_found")
    for entry, file in zip(entries, files):
        file.update(title=entry.get("title") or file["name"], size=len(file["content"]),
                    channels=[c for c in str(params.get("channel_id") or params.get("channels") or "").split(",") if c])
    return {"ok": True, "files": [{k: v for k, v in f.items() if k != "content"} for f in files]}


@method("apps.connections.open")
def apps_connections_open(ws: Workspace, params: dict) -> dict:
    """The WebSocket URL for Socket Mode (see socket_mode.FakeSocketMode)."""
    if ws.socket_mode_url is None:
        return error("fake_socket_mode_not_started")
    return {"ok": True, "url": ws.socket_mode_url}

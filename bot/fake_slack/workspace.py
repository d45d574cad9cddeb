"""The state behind the fake Slack Web API: users, channels, user groups, messages, views and files."""

import hashlib
import itertools

from .payloads import APP_ID, BOT_ID, TEAM_DOMAIN, TEAM_ID

FIRST_TS_MICROS = 1_700_000_000_000_000


def short_id(prefix: str, *parts: str) -> str:
    """A stable Slack-shaped id (prefix + 10 uppercase characters) derived from `parts`."""
    digest = hashlib.sha1("|".join(parts).encode("utf-8")).hexdigest()
    return prefix + digest[:10].upper()


class Workspace:
    """One Slack workspace as seen by one bot; method handlers read and change it under the fake's lock."""

    def __init__(self, bot_user_id: str, usergroups: dict[str, list[str]] | None = None):
        self.bot_user_id = bot_user_id
        self.users: dict[str, dict] = {}
        self.channels: dict[str, dict] = {}
        self.usergroups: dict[str, dict] = {}
        self.messages: dict[str, list[dict]] = {}
        self.views: dict[str, dict] = {}
        self.files: dict[str, dict] = {}
        self.reactions: set[tuple[str, str, str]] = set()
        self.socket_mode_url: str | None = None
        self.root_url = ""
        self._ts = itertools.count(1)
        for handle, members in (usergroups or {}).items():
            self.add_usergroup(handle, members)

    def next_ts(self) -> str:
        """A unique, increasing message timestamp: "1700000000.000100", "1700000000.000200", ..."""
        micros = FIRST_TS_MICROS + 100 * next(self._ts)
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def add_user(self, user_id: str, name: str | None = None, email: str | None = None, tz: str = "Europe/London",
                 real_name: str | None = None, is_bot: bool = False) -> dict:
        """Register (or replace) a user; returns Slack's user object."""
        name = name or user_id.lower()
        real_name = real_name or name.replace(".", " ").title()
        profile = {"real_name": real_name, "display_name": name, "email": email or f"{name}@example.com",
                   "image_48": f"https://avatars.example.com/{user_id}_48.png", "team": TEAM_ID}
        self.users[user_id] = {
            "id": user_id, "team_id": TEAM_ID, "name": name, "real_name": real_name, "deleted": False,
            "tz": tz, "tz_label": "Greenwich Mean Time" if tz == "Europe/London" else tz, "tz_offset": 0,
            "is_bot": is_bot, "is_admin": False, "is_app_user": False, "profile": profile,
        }
        return self.users[user_id]

    def user(self, user_id: str) -> dict:
        """The user with this id; unknown ids get a default profile, as if they had always been there."""
        return self.users.get(user_id) or self.add_user(user_id)

    def add_channel(self, channel_id: str, name: str | None = None, members: list[str] | None = None,
                    is_private: bool = False) -> dict:
        """Register (or replace) a channel the bot is a member of."""
        self.channels[channel_id] = {
            "id": channel_id, "name": name or channel_id.lower(), "is_channel": not is_private,
            "is_group": is_private, "is_im": False, "is_private": is_private, "is_archived": False,
            "is_member": True, "created": 1_690_000_000, "context_team_id": TEAM_ID,
            "members": list(members if members is not None else [self.bot_user_id]),
        }
        return self.channels[channel_id]

    def channel(self, channel_id: str) -> dict:
        """The channel with this id; unknown ids become public channels with just the bot in them."""
        return self.channels.get(channel_id) or self.add_channel(channel_id)

    def open_dm(self, users: list[str]) -> dict:
        """The DM (or group DM) between the bot and `users`, created on first use."""
        channel_id = short_id("D" if len(users) == 1 else "G", *sorted(users))
        if channel_id not in self.channels:
            channel = self.add_channel(channel_id, name=channel_id.lower(), members=[self.bot_user_id, *users])
            channel.update(is_channel=False, is_im=len(users) == 1, is_mpim=len(users) > 1, user=users[0])
        return self.channels[channel_id]

    def resolve_channel(self, channel: str) -> str:
        """Posting to a user id posts to the bot's DM with that user, as Slack does."""
        return self.open_dm([channel])["id"] if channel[:1] in ("U", "W") else channel

    def add_usergroup(self, handle: str, members: list[str]) -> dict:
        """Register a user group, e.g. add_usergroup("pilot-team", ["U1", "U2"])."""
        group_id = short_id("S", handle)
        self.usergroups[group_id] = {
            "id": group_id, "team_id": TEAM_ID, "is_usergroup": True, "name": handle.replace("-", " ").title(),
            "description": "", "handle": handle, "is_external": False, "date_create": 1_690_000_000,
            "date_delete": 0, "user_count": len(members), "users": list(members),
        }
        return self.usergroups[group_id]

    def add_message(self, channel: str, text: str, user: str | None = None, ts: str | None = None,
                    thread_ts: str | None = None, blocks: list | None = None) -> dict:
        """Store a message in a channel (the bot's own when `user` is None); returns it."""
        message = {"type": "message", "user": user or self.bot_user_id, "text": text, "ts": ts or self.next_ts(),
                   "team": TEAM_ID}
        if user is None:
            message.update(bot_id=BOT_ID, app_id=APP_ID)
        if blocks is not None:
            message["blocks"] = blocks
        if thread_ts:
            message["thread_ts"] = thread_ts
        self.messages.setdefault(channel, []).append(message)
        return message

    def find_message(self, channel: str, ts: str) -> dict | None:
        """The stored message with this ts, if any."""
        return next((m for m in self.messages.get(channel, []) if m["ts"] == ts), None)

    def thread(self, channel: str, ts: str) -> list[dict]:
        """A thread: its parent and replies, oldest first."""
        found = [m for m in self.messages.get(channel, []) if ts in (m["ts"], m.get("thread_ts"))]
        return sorted(found, key=lambda m: float(m["ts"]))

    def upload_url(self, file_id: str) -> str:
        """Where a file's bytes are uploaded (files.getUploadURLExternal)."""
        return f"{self.root_url}/upload/{file_id}"

    def permalink(self, channel: str, ts: str) -> str:
        """The web link Slack gives a message."""
        return f"https://{TEAM_DOMAIN}.slack.com/archives/{channel}/p{ts.replace('.', '')}"

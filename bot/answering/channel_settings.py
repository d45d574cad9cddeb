"""Channel settings, Slack-free (issue 15): answer mode, private answers, audiences and the helpdesk channel for one
channel, keyed on its id. Changed from `/rollout settings`, `rollout channels set` and read in every process from the
database (bot/answering/channel_store.py), so a change applies at once everywhere."""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime

from bot.answering.channel_store import ANSWER_MODES, ChannelSettings, ChannelStore
from bot.errors import RolloutError
from bot.store.models import utc_now

CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{2,30}")
AUDIENCE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
MAX_AUDIENCES = 10
KEEP = object()  # "leave this setting as it is"


class ChannelSettingsError(RolloutError, ValueError):
    """A setting that cannot be stored; the message is safe to show and says what to do instead."""


class Channels:
    """Reading and changing channels' settings."""

    def __init__(self, store: ChannelStore, admin_ids: frozenset[str] = frozenset(),
                 clock: Callable[[], datetime] = utc_now):
        self.store, self.admin_ids, self.clock = store, admin_ids, clock

    def settings(self, channel_id: str) -> ChannelSettings:
        """A channel's settings (the defaults for one never configured)."""
        return self.store.get(channel_id)

    def audiences_for_channel(self, channel_id: str) -> list[str]:
        """The document audiences that apply in a channel, in the order the admin gave them (none: everyone's).
        Everyone asking there is answered as a member of them too (Asking.audiences_of): a pilot channel gets the
        pilot's rules. Not a channel (a DM, the terminal): none."""
        return list(self.store.get(channel_id).audience) if CHANNEL_ID.fullmatch(channel_id or "") else []

    def audiences_in_use(self) -> frozenset[str]:
        """Every audience some channel's settings name: each is one the organisation has (knowledge/audiences.py)."""
        return frozenset(a for settings in self.store.all() for a in settings.audience)

    def channel_for(self, channel_id: str | None, default: str | None) -> str | None:
        """Where tickets from `channel_id` go: its own helpdesk channel if set, else `default` (the escalation
        Route of bot.helpdesk.escalation)."""
        if channel_id and CHANNEL_ID.fullmatch(channel_id):
            return self.store.get(channel_id).escalate_to or default
        return default

    def any_route(self) -> bool:
        """Whether some channel sends its tickets to a helpdesk channel of its own."""
        return self.store.any_escalation_route()

    def change(self, channel_id: str, user_id: str, **settings) -> ChannelSettings:
        """Validate and store the settings given (others keep their values); ChannelSettingsError names the bad one."""
        changes = self.check(channel_id, **settings)
        current = self.store.get(check_channel(channel_id))
        return self.store.save(replace(current, **changes), user_id, self.clock())

    @staticmethod
    def check(channel_id: str, *, answer_mode=KEEP, private_answers=KEEP, audience=KEEP, escalate_to=KEEP) -> dict:
        """The settings given as they would be stored, validated (ChannelSettingsError names the bad one); nothing is
        read or stored."""
        check_channel(channel_id)
        changes: dict = {}
        if answer_mode is not KEEP:
            changes["answer_mode"] = check_mode(answer_mode)
        if private_answers is not KEEP:
            changes["private_answers"] = bool(private_answers)
        if audience is not KEEP:
            changes["audience"] = parse_audience(audience)
        if escalate_to is not KEEP:
            changes["escalate_to"] = check_escalate_to(escalate_to, channel_id)
        return changes


def check_channel(channel_id: str) -> str:
    """A channel id as Slack gives it (C… or G…); names change, so settings are never keyed on them."""
    value = (channel_id or "").strip()
    if value.startswith("#"):
        raise ChannelSettingsError(f"Give the channel's id (e.g. C0123ABCD), not its name {value!r}: names change. "
                                   "In Slack: the channel's name → About → Channel ID.")
    if not CHANNEL_ID.fullmatch(value):
        raise ChannelSettingsError(f"{value!r} is not a channel id: channel ids look like C0123ABCD (or G… for old "
                                   "private channels).")
    return value


def check_mode(mode: str) -> str:
    value = (mode or "").strip().lower()
    if value not in ANSWER_MODES:
        raise ChannelSettingsError(f"Answer mode must be one of {', '.join(ANSWER_MODES)}, not {mode!r}.")
    return value


def parse_audience(audience: str | Iterable[str] | None) -> tuple[str, ...]:
    """Audience names from "pilot, engineering" or a list of them; empty means everyone's documents."""
    parts = [audience] if isinstance(audience, str) or audience is None else list(audience)
    names: list[str] = []
    for part in parts:
        for name in re.split(r"[,\s]+", (part or "").strip().lower()):
            if not name or name in names:
                continue
            if not AUDIENCE_NAME.fullmatch(name):
                raise ChannelSettingsError(f"{name!r} is not an audience name: use lower-case letters, digits, - or _ "
                                           "(e.g. pilot, engineering).")
            names.append(name)
    if len(names) > MAX_AUDIENCES:
        raise ChannelSettingsError(f"At most {MAX_AUDIENCES} audiences per channel, not {len(names)}.")
    return tuple(names)


def check_escalate_to(value: str | None, channel_id: str) -> str | None:
    """A helpdesk channel id, or None (empty, "none" or "default") for ROLLOUT_HELPDESK_CHANNEL."""
    text = (value or "").strip()
    if text.lower() in ("", "none", "default"):
        return None
    try:
        return check_channel(text)
    except ChannelSettingsError as exc:
        raise ChannelSettingsError(f"Escalate to: {exc}") from exc


def describe(settings: ChannelSettings, default_helpdesk: str | None = None) -> list[tuple[str, str]]:
    """(label, value) pairs for showing a channel's settings, in plain words."""
    modes = {"mention": "when mentioned", "auto": "every question (auto)", "off": "off"}
    helpdesk = settings.escalate_to or (f"{default_helpdesk} (default)" if default_helpdesk else "not set")
    return [("answers", modes.get(settings.answer_mode, settings.answer_mode)),
            ("private answers", "on" if settings.private_answers else "off"),
            ("audience", ", ".join(settings.audience) or "everyone"),
            ("escalate to", helpdesk)]

"""Who an announcement reaches: a target is a channel id, a user group handle (each member gets a DM), `pilot` (the
pilot cohort), `audience:NAME` (everyone in a document audience when it is sent: bot/comms/memberships.py) or a user id.
Each kind is one small `Audience` in the registry below; adding one is adding a class."""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.comms.errors import BadTarget, TargetsUnchecked


class Directory(Protocol):
    """What audiences need to know about the workspace (Slack in production, a fake in tests)."""

    def channel_problem(self, channel_id: str) -> str | None:
        """Why the bot cannot post to this channel (e.g. "channel_not_found"), or None."""

    def user_problem(self, user_id: str) -> str | None:
        """Why the bot cannot DM this user, or None."""

    def usergroup_members(self, handle: str) -> list[str] | None:
        """Member user ids of the user group with this handle (or id); None if there is no such group."""

    def channel_members(self, channel_id: str) -> list[str]:
        """Member user ids of a channel."""


DOCUMENT_AUDIENCE = "audience"


@dataclass(frozen=True)
class Target:
    """A parsed target: its kind and its value (an id or a handle)."""

    kind: str
    value: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}" if self.kind == DOCUMENT_AUDIENCE else self.value  # as it is written


class Audience(Protocol):
    """One kind of target."""

    kind: str
    in_slack: bool  # whether only Slack can say if the target exists (all but the pilot cohort, which is ours)

    def parse(self, text: str) -> str | None:
        """The target's value if `text` is one of these, else None."""

    def problem(self, value: str, directory: Directory) -> str | None:
        """Why this target cannot be used, or None."""

    def recipients(self, value: str, directory: Directory, pilot: Callable[[], list[str]], people: bool) -> list[str]:
        """Where messages go: channel ids or user ids (`people`: always user ids, e.g. a channel's members)."""


AUDIENCES: list[Audience] = []


def audience(cls: type) -> type:
    """Register an audience kind (order matters: the first that parses a target owns it)."""
    AUDIENCES.append(cls())
    return cls


@audience
class DocumentAudience:
    """`audience:engineering`: the people of a document audience (its people, groups' members, and for `pilot` the
    cohort), looked up when the message is sent through `resolve(..., audience_people=...)`."""

    kind = DOCUMENT_AUDIENCE
    in_slack = False  # ours: its people are looked up when it is sent (a user group among them through Slack)
    pattern = re.compile(r"audience:([a-z0-9][a-z0-9._-]{0,79})", re.IGNORECASE)

    def parse(self, text: str) -> str | None:
        match = self.pattern.fullmatch(text)
        return match.group(1).lower() if match else None

    def problem(self, value: str, directory: Directory) -> str | None:
        return None  # an audience may be empty until the day it is sent, like the pilot

    def recipients(self, value, directory, pilot, people, audience_people=None):
        if audience_people is None:
            raise BadTarget(f"audience:{value} can't be resolved here (no audience directory)")
        return audience_people(value)


@audience
class Pilot:
    """`pilot`: whoever is in the pilot cohort (bot/comms/announcement_store.PilotCohort) when it is sent."""

    kind = "pilot"
    in_slack = False

    def parse(self, text: str) -> str | None:
        return "pilot" if text.lower() == "pilot" else None

    def problem(self, value: str, directory: Directory) -> str | None:
        return None  # an empty cohort is allowed: people are added until the day it is sent

    def recipients(self, value, directory, pilot, people):
        return pilot()


@audience
class Channel:
    kind = "channel"
    in_slack = True
    pattern = re.compile(r"[CG][A-Z0-9]{6,}")

    def parse(self, text: str) -> str | None:
        return text if self.pattern.fullmatch(text) else None

    def problem(self, value: str, directory: Directory) -> str | None:
        if problem := directory.channel_problem(value):
            return f"channel {value} can't be used ({problem}): check the id and invite Rollout to the channel"
        return None

    def recipients(self, value, directory, pilot, people):
        return directory.channel_members(value) if people else [value]


@audience
class User:
    kind = "user"
    in_slack = True
    pattern = re.compile(r"[UW][A-Z0-9]{6,}")

    def parse(self, text: str) -> str | None:
        return text if self.pattern.fullmatch(text) else None

    def problem(self, value: str, directory: Directory) -> str | None:
        if problem := directory.user_problem(value):
            return f"user {value} can't be sent a DM ({problem})"
        return None

    def recipients(self, value, directory, pilot, people):
        return [value]


@audience
class UserGroup:
    kind = "usergroup"
    in_slack = True
    pattern = re.compile(r"@?([a-z0-9][a-z0-9._-]{0,79}|S[A-Z0-9]{6,})")

    def parse(self, text: str) -> str | None:
        match = self.pattern.fullmatch(text)
        return match.group(1) if match else None

    def problem(self, value: str, directory: Directory) -> str | None:
        if directory.usergroup_members(value) is None:
            return f"there is no user group '{value}' in this workspace (use its handle, as in @{value})"
        return None

    def recipients(self, value, directory, pilot, people):
        return directory.usergroup_members(value) or []


def parse_target(text: str) -> Target:
    """A target from its text; BadTarget saying what a target can be."""
    text = (text or "").strip()
    for kind in AUDIENCES:
        if (value := kind.parse(text)) is not None:
            return Target(kind.kind, value)
    hint = " (use the channel's id, e.g. C0123456789, not its name)" if text.startswith("#") else ""
    raise BadTarget(f"'{text}' is not a target{hint}: use a channel id (C…), a user id (U…), a user group handle, "
                    f"'pilot' or audience:NAME")


def parse_targets(texts: Iterable[str]) -> list[Target]:
    """Targets from texts (each may hold several, separated by commas or spaces), de-duplicated, order kept."""
    parts = [part for text in texts for part in re.split(r"[\s,]+", text or "") if part]
    if not parts:
        raise BadTarget("no target given: use --to with a channel id, a user id, a user group handle, 'pilot' or "
                        "audience:NAME")
    return list(dict.fromkeys(parse_target(part) for part in parts))


def check_targets(targets: Sequence[Target], directory: Directory | None, offline: bool = False) -> str | None:
    """BadTarget listing every target Slack does not know or Rollout cannot reach. Targets only Slack knows (all but
    'pilot') need Slack: without a directory (no SLACK_BOT_TOKEN) or with Slack unreachable, TargetsUnchecked — or,
    when `offline` allows it, "unchecked (why): targets" is returned (None when everything was checked)."""
    in_slack = [t for t in targets if _kind(t).in_slack]
    unchecked = None
    if in_slack and directory is None:
        unchecked = "SLACK_BOT_TOKEN is not set"
    elif in_slack:
        try:
            problems = [p for t in in_slack if (p := _kind(t).problem(t.value, directory))]
        except OSError as exc:  # URLError, refused, timed out: Slack could not be asked
            unchecked = f"can't reach Slack ({getattr(exc, 'reason', None) or exc})"
        else:
            if problems:
                raise BadTarget("; ".join(problems))
    names = " ".join(map(str, in_slack))
    if unchecked and not offline:
        raise TargetsUnchecked(f"can't check {names}: {unchecked}")
    return f"unchecked ({unchecked}): {names}" if unchecked else None


def resolve(targets: Sequence[Target], directory: Directory, pilot: Callable[[], list[str]],
            people: bool = False, audience_people: Callable[[str], list[str]] | None = None) -> list[tuple[str, str]]:
    """(recipient, target it came through) pairs, each recipient once, in target order; `audience_people`: the
    people of a document audience (bot/comms/memberships.py), for `audience:NAME` targets."""
    found: dict[str, str] = {}
    for target in targets:
        kind = _kind(target)
        extra = {"audience_people": audience_people} if isinstance(kind, DocumentAudience) else {}
        for recipient in kind.recipients(target.value, directory, pilot, people, **extra):
            found.setdefault(recipient, str(target))
    return list(found.items())


def _kind(target: Target) -> Audience:
    return next(a for a in AUDIENCES if a.kind == target.kind)

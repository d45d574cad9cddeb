"""Who belongs to which document audience (knowledge/audiences.py), Slack-free: the pilot cohort is the `pilot`
audience; `rollout audiences add NAME …` adds people (user ids) and Slack user groups (`@handle`) to any audience; and
a Slack user group whose handle is the audience's name (`@engineering`) counts as its members too.

User groups are read through the Web API (usergroups.list and usergroups.users.list, scope usergroups:read) and kept
for GROUP_CACHE_SECONDS; a group that cannot be read is logged and counts as empty for FAILURE_RETRY_SECONDS, so the
asker gets the general answer rather than none, and Slack is not asked again on every question meanwhile."""
from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable

from bot.comms.announcement_store import AudienceMembers, PilotCohort
from bot.comms.errors import BadTarget

log = logging.getLogger(__name__)

GROUP_CACHE_SECONDS = 600.0
FAILURE_RETRY_SECONDS = 60.0
PILOT = "pilot"
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,79}")
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
_HANDLE = re.compile(r"@([a-z0-9][a-z0-9._-]{0,79}|S[A-Z0-9]{6,})")


def audience_name(text: str) -> str:
    """An audience's name as documents spell it (`pilot`, `engineering`); BadTarget for anything else."""
    name = (text or "").strip().lower()
    if not _NAME.fullmatch(name) or name in ("everyone", "all"):
        raise BadTarget(f"'{text}' is not an audience name: one word of letters, digits, '.', '_' or '-' (as in a "
                        f"document's `audience: engineering`), and not 'everyone' or 'all'")
    return name


def member_entry(text: str) -> str:
    """A user id (U…) or a user group handle (`@eng-team`), as stored; BadTarget for anything else."""
    entry = (text or "").strip().strip(",")
    if _USER_ID.fullmatch(entry.lstrip("@")):
        return entry.lstrip("@")
    if _HANDLE.fullmatch(entry):
        return entry
    raise BadTarget(f"'{text}' is neither a Slack user id (U…) nor a user group handle (@team)")


class UserGroupCache:
    """A user group's members by handle, each kept for `ttl` seconds; a failed lookup is logged and counts as no
    members until `retry` seconds have passed."""

    def __init__(self, lookup: Callable[[str], list[str] | None], ttl: float = GROUP_CACHE_SECONDS,
                 retry: float = FAILURE_RETRY_SECONDS, clock: Callable[[], float] = time.monotonic):
        self.lookup, self.ttl, self.retry, self.clock = lookup, ttl, retry, clock
        # handle -> (until, members, whether the group exists: None when Slack could not say)
        self._cache: dict[str, tuple[float, frozenset[str], bool | None]] = {}
        self._lock = threading.Lock()

    def members(self, handle: str) -> frozenset[str]:
        """The members of the group with this handle (empty if there is none, or Slack could not say)."""
        return self._read(handle)[0]

    def may_exist(self, handle: str) -> bool:
        """Whether a group with this handle exists, or may: a failed lookup cannot rule it out, so an audience it
        defines keeps restricting its documents meanwhile (knowledge/audiences.py)."""
        return self._read(handle)[1] is not False

    def _read(self, handle: str) -> tuple[frozenset[str], bool | None]:
        now = self.clock()
        with self._lock:
            hit = self._cache.get(handle)
        if hit is not None and hit[0] > now:
            return hit[1], hit[2]
        try:  # not under the lock: one slow answer from Slack must not hold up other questions
            found = self.lookup(handle)
            members, exists, keep = frozenset(found or ()), found is not None, self.ttl
        except Exception as exc:  # noqa: BLE001  (any failure: answer from the general documents)
            log.warning("could not read user group @%s from Slack (%s: %s); its audience is left out for %.0f s",
                        handle, type(exc).__name__, exc, self.retry)
            members, exists, keep = frozenset(), None, self.retry
        with self._lock:
            self._cache[handle] = (now + keep, members, exists)
        return members, exists


class Memberships:
    """Which audiences a person belongs to, and who an audience reaches."""

    def __init__(self, listed: AudienceMembers, pilot: PilotCohort, groups: UserGroupCache | None):
        self.listed, self.pilot, self.groups = listed, pilot, groups

    def audiences_of(self, user_id: str, names: Iterable[str]) -> frozenset[str]:
        """Which of these audiences `user_id` belongs to."""
        names = set(names)
        if not names:
            return frozenset()
        listed = self.listed.all()
        found = {PILOT} if PILOT in names and user_id in self.pilot.members() else set()
        for name in sorted(names - found):
            entries = listed.get(name, [])
            if user_id in entries or any(user_id in self._group(h) for h in self._handles(name, entries)):
                found.add(name)
        return frozenset(found)

    def known(self, names: Iterable[str]) -> frozenset[str]:
        """Which of these audience names the organisation has: the pilot, those `rollout audiences` lists, and
        those a Slack user group has as its handle. A document's other names describe its readers
        (knowledge/audiences.py)."""
        names = set(names)
        listed = self.listed.all() if names - {PILOT} else {}
        return frozenset(n for n in names if n == PILOT or n in listed or self._may_be_group(n))

    def people(self, name: str) -> list[str]:
        """Everyone in an audience now (user ids, each once): its pilot cohort, people and groups' members."""
        entries = self.listed.all().get(name, [])
        people = list(self.pilot.members()) if name == PILOT else []
        people += [e for e in entries if not e.startswith("@")]
        for handle in self._handles(name, entries):
            people += sorted(self._group(handle))
        return list(dict.fromkeys(people))

    @staticmethod
    def _handles(name: str, entries: list[str]) -> list[str]:
        return list(dict.fromkeys([name, *(e[1:] for e in entries if e.startswith("@"))]))

    def _may_be_group(self, handle: str) -> bool:
        return self.groups.may_exist(handle) if self.groups is not None else False

    def _group(self, handle: str) -> frozenset[str]:
        return self.groups.members(handle) if self.groups is not None else frozenset()


def asker_audiences(memberships: Memberships, knowledge_base) -> Callable[[str], frozenset[str]]:
    """user id → the audiences they belong to among those the indexed documents name (none asked about when no
    document is restricted, so a workspace without audiences never looks anyone up)."""

    def audiences(user_id: str) -> frozenset[str]:
        named = getattr(knowledge_base, "audiences", None)
        names = named() if named else frozenset()
        return memberships.audiences_of(user_id, names) if names else frozenset()

    return audiences


def known_audiences(memberships: Memberships, knowledge_base,
                    in_settings: Callable[[], Iterable[str]] = frozenset) -> Callable[[], frozenset[str]]:
    """() → the audiences the indexed documents name that the organisation has: Memberships.known, and those a
    channel's `audience` setting names (`in_settings`)."""

    def known() -> frozenset[str]:
        names = knowledge_base.audiences()
        found = memberships.known(names) if names else frozenset()
        rest = names - found  # the channel settings are read only for names not found already (on every question)
        return found | (rest & frozenset(in_settings())) if rest else found

    return known

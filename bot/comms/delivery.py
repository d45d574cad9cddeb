"""Slack for deployment communications: posting paced messages, finding a message again by its delivery marker,
and answering the audience directory's questions. The only comms module that imports slack_sdk."""
from __future__ import annotations

import itertools
import logging
import threading
import time
from datetime import datetime

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import RateLimitErrorRetryHandler

from bot.slack.client import find_marked, open_channel, web_client
from bot.slack.pacing import SendPacer, Slot
from jobs.delivery import Posted, SendFailed

log = logging.getLogger(__name__)
PACED_RATE_LIMIT_RETRIES = 10  # a 429 pauses every sender of the process, so a send may meet several in a row
TRANSIENT_ERRORS = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable",
                              "request_timeout"})


# How long the list of user groups is trusted for a handle it does not hold (a group created since).
USERGROUP_LIST_SECONDS = 60.0


class PacedRateLimitHandler(RateLimitErrorRetryHandler):
    """On 429, every sender of the process waits Retry-After (not just this thread), then this one retries in a
    new slot of the pacer (handed to `SlackDelivery.post` to close when the retry's answer is back)."""

    def __init__(self, pacer: SendPacer, max_retry_count: int = PACED_RATE_LIMIT_RETRIES):
        super().__init__(max_retry_count=max_retry_count)
        self.pacer = pacer
        self.retry_slots = threading.local()
        self._throttled = itertools.count()
        self.throttled = 0

    def prepare_for_next_attempt(self, *, state, request, response=None, error=None) -> None:
        if response is None:
            raise error  # type: ignore[misc]
        retry_after = _retry_after(response.headers)
        self.throttled = next(self._throttled) + 1
        log.info("Slack answered 429: every sender waits %.0f s (Retry-After)", retry_after)
        self.pacer.pause(retry_after)
        self.slots().append(self.pacer.acquire())
        state.next_attempt_requested = True
        state.increment_current_attempt()

    def slots(self) -> list[Slot]:
        """This thread's retry slots, still to be closed."""
        if not hasattr(self.retry_slots, "open"):
            self.retry_slots.open = []
        return self.retry_slots.open


class SlackDelivery:
    """Posts messages within Slack's limits and looks them up again; also the audiences' `Directory`."""

    def __init__(self, token: str, api_url: str | None, pacer: SendPacer, timeout: int = 30):
        self.pacer = pacer
        self.rate_limits = PacedRateLimitHandler(pacer)
        # Rollout's one retry stack (bot/slack/client.py), the poster's 429s paced: a post whose answer never came is
        # not re-sent (Slack may have posted it: `SendFailed.unknown`, and `find` settles it before a retry).
        self.poster = web_client(token, api_url, timeout=timeout, rate_limits=self.rate_limits)
        self.reader = web_client(token, api_url, timeout=timeout)
        self._groups: dict[str, str] | None = None
        self._groups_read = 0.0  # time.monotonic() of the last usergroups.list
        self._lock = threading.Lock()

    # -- posting -----------------------------------------------------------------------------------------------

    def post(self, recipient: str, text: str, blocks: list[dict]) -> Posted:
        """Post to a channel, or DM a user (by user id); SendFailed says whether to retry."""
        slots = [self.pacer.acquire(recipient)]
        try:
            response = self.poster.chat_postMessage(channel=recipient, text=text, blocks=blocks, unfurl_links=False)
        except SlackApiError as exc:
            error = str(exc.response.get("error") or f"HTTP {exc.response.status_code}")
            transient = error in TRANSIENT_ERRORS or exc.response.status_code >= 500
            raise SendFailed(error, permanent=not transient, unknown=exc.response.status_code >= 500) from exc
        except OSError as exc:  # URLError, timeouts, resets: it may have been posted
            raise SendFailed(f"connection: {exc}", permanent=False, unknown=True) from exc
        finally:
            retries = self.rate_limits.slots()
            slots += retries
            retries.clear()
            for slot in slots:
                self.pacer.done(slot)
        return Posted(response["channel"], response["ts"])

    def find(self, recipient: str, marker: str, since: datetime) -> Posted | None:
        """The message carrying block `marker` posted to `recipient` since `since`, if Slack has it."""
        channel = open_channel(self.reader, recipient)
        ts = find_marked(self.reader, channel, marker, since)
        return Posted(channel, ts) if ts else None

    # -- the audiences' Directory ------------------------------------------------------------------------------

    def channel_problem(self, channel_id: str) -> str | None:
        """Why the bot cannot post to this channel, or None."""
        try:
            channel = self.reader.conversations_info(channel=channel_id)["channel"]
        except SlackApiError as exc:
            return str(exc.response.get("error"))
        if channel.get("is_archived"):
            return "is_archived"
        return None

    def user_problem(self, user_id: str) -> str | None:
        """Why the bot cannot DM this user, or None."""
        try:
            user = self.reader.users_info(user=user_id)["user"]
        except SlackApiError as exc:
            return str(exc.response.get("error"))
        if user.get("deleted"):
            return "account_inactive"
        return "is_bot" if user.get("is_bot") else None

    def usergroup_members(self, handle: str) -> list[str] | None:
        """Members of the user group with this handle (or id); None if there is none."""
        group_id = self._usergroup_id(handle)
        if group_id is None:
            return None
        return list(self.reader.usergroups_users_list(usergroup=group_id)["users"])

    def channel_members(self, channel_id: str) -> list[str]:
        """Member user ids of a channel, every page."""
        members, cursor = [], None
        while True:
            page = self.reader.conversations_members(channel=channel_id, limit=1000, cursor=cursor)
            members += page["members"]
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return members

    def _usergroup_id(self, handle: str) -> str | None:
        with self._lock:
            # One list answers every handle: read again for an unknown handle only once the list is old, so the
            # audiences a question is checked against ("pilot", "engineering") cost one call, not one each.
            stale = time.monotonic() - self._groups_read >= USERGROUP_LIST_SECONDS
            if self._groups is None or (handle not in self._groups and stale):
                groups = self.reader.usergroups_list()["usergroups"]
                self._groups = {g["handle"]: g["id"] for g in groups} | {g["id"]: g["id"] for g in groups}
                self._groups_read = time.monotonic()
            return self._groups.get(handle)


def _retry_after(headers: dict) -> float:
    for name, value in headers.items():
        if name.lower() == "retry-after":
            try:
                return float(value[0] if isinstance(value, list) else value)
            except (TypeError, ValueError):
                break
    return 1.0

"""Escalation to the helpdesk, Slack-free: tickets (create, claim, resolve, rate), the two-way relay and the SLA.

The Slack edge hands in a `Notifier`; everything here is plain Python over the HelpdeskStore. Relay rules: the asker's
messages in their thread go to the ticket's helpdesk thread from the start (the details they add while waiting are
what the agent needs); the agents' messages in the helpdesk thread go to the asker only once the ticket is claimed;
messages in a ticket thread are never answered as questions while the ticket is open or claimed.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.answering.safety import redact, redact_secrets
from bot.errors import NotFound
from bot.helpdesk import blocks
from bot.helpdesk.errors import AlreadyHandled, HelpdeskError, NotAllowed, NotConfigured
from bot.helpdesk.store import HelpdeskStore
from bot.helpdesk.tables import Ticket
from bot.store.models import utc_now

log = logging.getLogger(__name__)
REANNOUNCE_EVERY = timedelta(hours=1)
NOT_PASSED_ON = ("I couldn't reach the helpdesk just now, so your question has not been passed on yet. Please try "
                 "again in a few minutes, or contact the helpdesk directly.")
NOT_YOUR_QUESTION = ("Only the person who asked this question can pass it to the helpdesk. If you need help too, "
                     "ask your own question, or use `/rollout help-me <your question>`.")


class NotPassedOn(HelpdeskError):
    """The ticket could not be posted to the helpdesk channel: the asker must not be told it was."""


class Route(Protocol):
    """Per-channel helpdesk channels (bot.answering.channel_settings)."""

    def channel_for(self, channel_id: str | None, default: str | None) -> str | None:
        """Where tickets from `channel_id` go."""

    def any_route(self) -> bool:
        """Whether some channel has a helpdesk channel of its own."""


class Notifier(Protocol):
    """What the workflows need from Slack."""

    def post(self, channel: str, text: str, blocks: list[dict] | None = None, thread_ts: str | None = None) -> str:
        """Post a message; its ts. Raises on failure."""

    def update(self, channel: str, ts: str, text: str, blocks: list[dict]) -> None:
        """Replace a message."""

    def dm_channel(self, user_id: str) -> str:
        """The DM channel with a person."""

    def permalink(self, channel: str, ts: str) -> str | None:
        """A link to a message, or None."""

    def channel_members(self, channel: str) -> frozenset[str]:
        """Who is in a channel."""


@dataclass(frozen=True)
class Relay:
    """Where a message in a ticket thread goes: None `to` means it belongs to a ticket but is not relayed."""

    ticket: Ticket
    to: tuple[str, str] | None  # (channel, thread_ts)
    text: str


class Escalations:
    """Tickets from escalated answers and `/rollout help-me`, handled by the helpdesk channel's members."""

    def __init__(self, store: HelpdeskStore, notifier: Notifier, helpdesk_channel: str | None,
                 helpdesk_users: frozenset[str] = frozenset(), sla_minutes: int = 30,
                 clock: Callable[[], datetime] = utc_now, route: Route | None = None):
        self.store, self.notifier, self.channel = store, notifier, helpdesk_channel
        self.users, self.sla, self.clock = helpdesk_users, timedelta(minutes=sla_minutes), clock
        self.route = route

    def helpdesk_for(self, channel_id: str | None) -> str | None:
        """The helpdesk channel for tickets from `channel_id`: the channel's own `escalate_to` setting, if any, else
        ROLLOUT_HELPDESK_CHANNEL."""
        return self.route.channel_for(channel_id, self.channel) if self.route else self.channel

    def routes_anywhere(self) -> bool:
        """Whether any ticket can reach a helpdesk: a default channel, or some channel's own."""
        return bool(self.channel) or bool(self.route and self.route.any_route())

    def escalate_answer(self, conversation, user_id: str) -> tuple[Ticket, bool]:
        """A ticket for a stored answer (one per answer); True when it was created now. Only the person who asked
        may escalate it: the ticket, its relay and its rating are theirs."""
        if conversation.user_id != user_id:
            raise NotAllowed(NOT_YOUR_QUESTION)
        # A private answer's ticket is followed up in a DM: its thread would show the channel what was asked.
        in_thread = conversation.thread_ts and not getattr(conversation, "private", False)
        thread = (conversation.channel_id, conversation.thread_ts) if in_thread else None
        return self._open(user_id, "escalate", conversation.question, thread, conversation.channel_id,
                          conversation_id=conversation.id,
                          answer=conversation.answer, sources=list(conversation.sources or []),
                          permalink=self._permalink(conversation.channel_id, conversation.reply_ts
                                                    or conversation.message_ts))

    def help_me(self, user_id: str, text: str, channel_id: str | None = None) -> Ticket:
        """A ticket straight from `/rollout help-me <text>` (typed in `channel_id`)."""
        return self._open(user_id, "help-me", redact(text), None, channel_id)[0]

    def may_handle(self, user_id: str, ticket: Ticket | None = None) -> bool:
        """Members of the ticket's helpdesk channel (by default ROLLOUT_HELPDESK_CHANNEL) and ROLLOUT_HELPDESK_USERS
        may claim and resolve."""
        if user_id in self.users:
            return True
        channel = (ticket.helpdesk_channel if ticket else None) or self.channel
        return bool(channel) and user_id in self.notifier.channel_members(channel)

    def claim(self, ticket_id: int, user_id: str) -> Ticket:
        """Claim an open ticket: from now on its threads are relayed."""
        self._check(user_id, ticket_id)
        now = self.clock()
        ticket = self.store.change_ticket(ticket_id, user_id, "claimed", ["open"], now, status="claimed",
                                          claimed_by=user_id, claimed_at=now)
        if ticket is None:
            raise self._why_not(ticket_id, "claim")
        self._refresh(ticket)
        self._tell_asker(ticket, blocks.claimed_text(user_id))
        return ticket

    def resolve(self, ticket_id: int, user_id: str) -> Ticket:
        """Close a ticket, tell the asker and ask them to rate the help."""
        self._check(user_id, ticket_id)
        now = self.clock()
        ticket = self.store.change_ticket(ticket_id, user_id, "resolved", ["open", "claimed"], now,
                                          status="resolved", resolved_by=user_id, resolved_at=now)
        if ticket is None:
            raise self._why_not(ticket_id, "resolve")
        self._refresh(ticket)
        if ticket.asker_channel:
            self.notifier.post(ticket.asker_channel, blocks.resolved_text(user_id),
                               blocks.rating_blocks(ticket), thread_ts=ticket.asker_thread_ts)
        return ticket

    def rate(self, ticket_id: int, user_id: str, rating: int) -> str:
        """Record the asker's 1–5 rating; the thanks to show them."""
        if not 1 <= rating <= 5:
            raise HelpdeskError("Ratings go from 1 to 5.")
        if not self.store.rate_ticket(ticket_id, user_id, rating, self.clock()):
            return "You already rated this help. Thank you!"
        return f"Thanks for rating the help {rating}/5."

    def in_live_thread(self, channel: str, thread_ts: str | None) -> bool:
        """Whether a message in `channel`'s thread belongs to a live ticket (`relay` takes it)."""
        return self._live_ticket(channel, thread_ts) is not None

    def relay(self, channel: str, thread_ts: str | None, user_id: str, text: str) -> Relay | None:
        """Where a person's message in `channel`'s thread goes; None when it is not in a live ticket's thread."""
        if not (found := self._live_ticket(channel, thread_ts)):
            return None
        ticket, side = found
        if side == "asker" and user_id != ticket.user_id:
            return Relay(ticket, None, "")
        if ticket.status != "claimed" and not (side == "asker" and ticket.helpdesk_ts):
            return Relay(ticket, None, "")  # the helpdesk talks among itself until someone claims the ticket
        text = redact_secrets(text)
        if side == "helpdesk":
            self.store.update_ticket(ticket.id, resolution=text)
            return Relay(ticket, (ticket.asker_channel, ticket.asker_thread_ts), blocks.from_agent(user_id, text))
        return Relay(ticket, (ticket.helpdesk_channel, ticket.helpdesk_ts), blocks.from_asker(user_id, text))

    def _live_ticket(self, channel: str, thread_ts: str | None) -> tuple[Ticket, str] | None:
        """The ticket whose thread this is and the side ("helpdesk" or "asker"), unless it is over for the asker."""
        if not thread_ts or not (found := self.store.ticket_in_thread(channel, thread_ts)):
            return None
        ticket, side = found
        if side == "asker" and ticket.status == "resolved":
            return None  # the ticket is over: the thread is an ordinary conversation again
        return found

    def deliver(self, relay: Relay) -> None:
        """Post a relayed message in the other thread."""
        if relay.to and relay.to[0]:
            self.notifier.post(relay.to[0], relay.text, thread_ts=relay.to[1])

    def reannounce_overdue(self, now: datetime) -> list[int]:
        """Re-announce unclaimed tickets older than the SLA: once, then hourly. Each once, across processes."""
        announced = []
        for ticket in self.store.overdue_tickets(now - self.sla, now - REANNOUNCE_EVERY):
            if ticket.helpdesk_channel and self.store.claim_announcement(ticket, now):
                waited = int((now - ticket.created_at).total_seconds() // 60)
                self.notifier.post(ticket.helpdesk_channel, blocks.overdue_text(ticket, waited),
                                   thread_ts=ticket.helpdesk_ts)
                announced.append(ticket.id)
        return announced

    def _open(self, user_id: str, origin: str, question: str, thread: tuple[str, str] | None,
              from_channel: str | None, **values) -> tuple[Ticket, bool]:
        helpdesk = self.helpdesk_for(from_channel)
        if not helpdesk:
            raise NotConfigured("The helpdesk channel is not set up yet (ROLLOUT_HELPDESK_CHANNEL); please contact "
                                "the helpdesk directly.")
        ticket, created = self.store.create_ticket(user_id, user_id=user_id, origin=origin, question=question,
                                                   created_at=self.clock(), **values)
        if not created and ticket.helpdesk_ts or not self.store.claim_ticket_post(ticket.id, helpdesk):
            return ticket, False  # posted already, or being posted by another click or process right now
        # New, or an earlier attempt that never reached the helpdesk channel: the helpdesk first, so the asker is
        # told it was passed on only once it really was.
        try:
            posted = self.notifier.post(helpdesk, blocks.ticket_text(ticket), blocks.ticket_blocks(ticket))
        except Exception as exc:
            self.store.release_ticket_post(ticket.id)
            log.warning("could not post ticket %s to %s; the asker is told to try again", ticket.id, helpdesk,
                        exc_info=True)
            raise NotPassedOn(NOT_PASSED_ON) from exc
        self.store.update_ticket(ticket.id, helpdesk_channel=helpdesk, helpdesk_ts=posted)
        log.info("ticket %s opened for %s (%s)", ticket.id, user_id, origin)
        self._confirm(ticket, user_id, thread)
        return self.store.ticket(ticket.id), True

    def _confirm(self, ticket: Ticket, user_id: str, thread: tuple[str, str] | None) -> None:
        """Tell the asker it was passed on, where their replies will be relayed; the ticket stands if this fails."""
        channel, thread_ts = thread or (self.notifier.dm_channel(user_id), None)
        self.store.update_ticket(ticket.id, asker_channel=channel, asker_thread_ts=thread_ts)
        try:
            ts = self.notifier.post(channel, blocks.following_up_text(ticket, int(self.sla.total_seconds() // 60)),
                                    thread_ts=thread_ts)
        except Exception:
            log.warning("ticket %s is with the helpdesk but its asker could not be told", ticket.id, exc_info=True)
            return
        if thread_ts is None:
            self.store.update_ticket(ticket.id, asker_thread_ts=ts)

    def _check(self, user_id: str, ticket_id: int) -> None:
        if not self.may_handle(user_id, self.store.ticket(ticket_id)):
            raise NotAllowed("Sorry, only members of the helpdesk channel can claim or resolve tickets. If you "
                             "should be one, ask to be added to the channel.")

    def _why_not(self, ticket_id: int, verb: str) -> Exception:
        ticket = self.store.ticket(ticket_id)
        if ticket is None:
            return NotFound(f"I can't find ticket #{ticket_id} any more.")
        who = ticket.resolved_by if ticket.status == "resolved" else ticket.claimed_by
        return AlreadyHandled(f"Ticket #{ticket_id} is already {ticket.status} by <@{who}>, so you can't {verb} it.")

    def _refresh(self, ticket: Ticket) -> None:
        """Show the ticket's new state on its helpdesk message."""
        if ticket.helpdesk_channel and ticket.helpdesk_ts:
            try:
                self.notifier.update(ticket.helpdesk_channel, ticket.helpdesk_ts, blocks.ticket_text(ticket),
                                     blocks.ticket_blocks(ticket))
            except Exception:
                log.warning("could not update ticket %s's message", ticket.id, exc_info=True)

    def _tell_asker(self, ticket: Ticket, text: str) -> None:
        if ticket.asker_channel:
            self.notifier.post(ticket.asker_channel, text, thread_ts=ticket.asker_thread_ts)

    def _permalink(self, channel: str, ts: str | None) -> str | None:
        if not ts:
            return None
        try:
            return self.notifier.permalink(channel, ts)
        except Exception:
            log.warning("no permalink for %s/%s", channel, ts, exc_info=True)
            return None

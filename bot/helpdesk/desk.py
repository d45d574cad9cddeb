"""The helpdesk and incident services wired for Slack: a Notifier over the Web API, and `Desk`, what the helpdesk
and incident listeners and jobs hand work to. Built once per process by the runtime (bot/runtime.py)."""
from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_sdk import WebClient

from bot.helpdesk.escalation import Escalations
from bot.helpdesk.faq import Faq
from bot.helpdesk.incidents import Incidents
from bot.helpdesk.limits import Limits
from bot.helpdesk.store import HelpdeskStore
from bot.settings import Settings

log = logging.getLogger(__name__)


class SlackNotifier:
    """The workflows' Notifier over a WebClient."""

    def __init__(self, client: WebClient):
        self.client = client

    def post(self, channel: str, text: str, blocks: list[dict] | None = None, thread_ts: str | None = None) -> str:
        params = {"channel": channel, "text": text, **({"blocks": blocks} if blocks else {})}
        if thread_ts:
            params["thread_ts"] = thread_ts
        return self.client.chat_postMessage(**params)["ts"]

    def update(self, channel: str, ts: str, text: str, blocks: list[dict]) -> None:
        self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)

    def dm_channel(self, user_id: str) -> str:
        return self.client.conversations_open(users=user_id)["channel"]["id"]

    def permalink(self, channel: str, ts: str) -> str | None:
        return self.client.chat_getPermalink(channel=channel, message_ts=ts).get("permalink")

    def channel_members(self, channel: str) -> frozenset[str]:
        members: set[str] = set()
        cursor = None
        while True:
            page = self.client.conversations_members(channel=channel, cursor=cursor, limit=1000)
            members.update(page.get("members") or [])
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return frozenset(members)


@dataclass
class Desk:
    """Tickets, incidents and FAQ entries, plus the answering services they share workers and records with."""

    escalations: Escalations
    incidents: Incidents
    faq: Faq
    store: HelpdeskStore
    services: object  # bot.answering.services.Services: its workers run the slow work, its store the conversations
    limits: Limits  # help requests, incident reports and relayed messages per person

    def tell_about_faq(self, entry, text: str) -> None:
        """A note about an FAQ entry in its ticket's helpdesk thread, or to the agent who added it."""
        ticket = self.store.ticket(entry.ticket_id) if entry.ticket_id else None
        client = self.services.client
        if ticket and ticket.helpdesk_channel:
            client.chat_postMessage(channel=ticket.helpdesk_channel, thread_ts=ticket.helpdesk_ts, text=text)
        else:
            client.chat_postMessage(channel=entry.created_by, text=text)


def build_desk(settings: Settings, services, store: HelpdeskStore, limits: Limits, knowledge_base=None) -> Desk:
    """The helpdesk services over `store`, with the client and (by default) the knowledge base of `services`."""
    kb = knowledge_base or services.asking.knowledge_base
    notifier = SlackNotifier(services.client)
    escalations = Escalations(store, notifier, settings.rollout_helpdesk_channel, settings.helpdesk_user_ids,
                              settings.rollout_escalation_sla_minutes, route=getattr(services, "channels", None))
    incidents = Incidents(store, notifier, settings.rollout_security_channel, kb)
    return Desk(escalations, incidents, Faq(store, kb, settings.data_dir), store, services, limits)

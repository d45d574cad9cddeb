"""*Share in channel* under a private answer (issue 15): the asker posts the recorded answer, and who shared it, in the
thread they asked in (the channel, for `/rollout`). Recorded in shared_answers: a retried or doubled click posts once,
across processes; a post Slack refused is released so that pressing again tries again. The shared message is an
ordinary answer message (👍/👎, *Ask a person*, *Show more*), found again by its conversation id.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.answering import blocks
from bot.answering.channel_store import ChannelStore
from bot.answering.show_more import SHARED_BY, recorded_answer
from bot.slack import blocks as slack_blocks
from bot.slack.client import post_once, respond
from bot.store import Conversation
from bot.store.models import utc_now
from bot.store.repositories import Store

log = logging.getLogger(__name__)

GONE = "I couldn't find that answer any more, so I can't share it. Please ask again."
NOT_YOURS = "Only the person who asked can share this answer."
ALREADY = ":white_check_mark: You already shared this answer in the channel."
SHARING = ":hourglass_flowing_sand: This answer is being shared in the channel right now."
NOT_IN_CHANNEL = (":warning: I'm not a member of this channel, so I can't post your answer here. Invite me "
                  "(`/invite @Rollout`) and press *Share in channel* again.")
FAILED = (":warning: Sorry, I couldn't share the answer just now (reference `{reference}`). Nothing was posted; "
          "please press *Share in channel* again in a minute.")


@dataclass(frozen=True)
class ShareClick:
    """A click on *Share in channel*."""

    conversation_id: int | None
    user_id: str
    channel_id: str | None
    response_url: str | None

    @classmethod
    def of(cls, body: dict, action: dict) -> ShareClick:
        value, container = str(action.get("value") or ""), body.get("container") or {}
        return cls(int(value) if value.isdigit() else None, (body.get("user") or {}).get("id", ""),
                   container.get("channel_id") or (body.get("channel") or {}).get("id"),
                   body.get("response_url") or None)


class Sharing:
    """Posts private answers in their channel when their askers ask for it, once each."""

    def __init__(self, store: Store, channels: ChannelStore, client: WebClient,
                 clock: Callable[[], datetime] = utc_now):
        self.store, self.channels, self.client, self.clock = store, channels, client, clock

    def share(self, click: ShareClick) -> None:
        """After the ack: claim the share, post it, record where, and turn the private copy into a note."""
        conversation = self.store.get_conversation(click.conversation_id) if click.conversation_id else None
        if conversation is None:
            return self._tell(click, GONE)
        if conversation.user_id != click.user_id:
            return self._tell(click, NOT_YOURS)
        state = self.channels.claim_share(conversation.id, click.user_id, conversation.channel_id,
                                          conversation.thread_ts, self.clock())
        if state != "new":
            return self._tell(click, ALREADY if state == "posted" else SHARING)
        try:
            ts = self._post(conversation, click.user_id)
        except Exception as exc:
            self.channels.release_share(conversation.id)
            return self._tell(click, self._failure(conversation, exc))
        if ts is None:  # Slack may have it; unknown, so the claim stays (retaken after SHARE_TAKEOVER)
            return self._tell(click, SHARING)
        self.channels.shared(conversation.id, ts, self.clock())
        self.store.set_reply_ts(conversation.id, ts)
        log.info("answer %s shared in %s by %s", conversation.id, conversation.channel_id, click.user_id)
        if click.response_url:
            respond(click.response_url, ":white_check_mark: Shared in the channel.",
                    [slack_blocks.context(":white_check_mark: You shared this answer in the channel.", "shared_note")],
                    replace_original=True)

    def _post(self, conversation: Conversation, user_id: str) -> str | None:
        text, message_blocks = shared_message(conversation, user_id)
        return post_once(self.client, channel=conversation.channel_id, thread_ts=conversation.thread_ts, text=text,
                         blocks=message_blocks, marker=blocks.answer_marker(conversation.id))

    def _failure(self, conversation: Conversation, exc: Exception) -> str:
        if isinstance(exc, SlackApiError) and exc.response.get("error") in ("not_in_channel", "channel_not_found"):
            return NOT_IN_CHANNEL
        reference = uuid.uuid4().hex[:8]
        log.error("could not share answer %s (reference %s)", conversation.id, reference, exc_info=exc)
        return FAILED.format(reference=reference)

    def _tell(self, click: ShareClick, text: str) -> None:
        if click.response_url:
            respond(click.response_url, text)
        elif click.channel_id:
            self.client.chat_postEphemeral(channel=click.channel_id, user=click.user_id, text=text)


def shared_message(conversation: Conversation, user_id: str) -> tuple[str, list[dict]]:
    """The answer as the channel sees it: who shared it (and, for `/rollout`, the question), then the answer."""
    by = f":loudspeaker: <@{user_id}> shared an answer from Rollout"
    if conversation.source == "command":  # the question was never shown in the channel
        by += f" to: _{slack_blocks.escape(slack_blocks.shorten(conversation.question, blocks.QUESTION_ECHO_LIMIT))}_"
    message_blocks = [slack_blocks.context(by, SHARED_BY), *blocks.answer_blocks(recorded_answer(conversation),
                                                                           conversation.id)]
    return slack_blocks.fallback_text(slack_blocks.to_mrkdwn(conversation.answer)), message_blocks

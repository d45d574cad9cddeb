"""*Show more* / *Show less* under an answer: the longer extract recorded with the conversation, shown in place.

A click re-renders the answer message from what was recorded (the retrieval is never run again), so a retried or
doubled click ends in the same message. The bot's own messages are edited with chat.update; an ephemeral answer
(`/rollout <question>`) has no ts to edit and is replaced through the click's response_url instead.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.answering import blocks
from bot.feedback.blocks import VOTE_STATUS
from bot.slack import blocks as slack_blocks
from bot.slack.client import respond
from bot.store import Conversation
from bot.store.repositories import Store
from knowledge.answer import Answer, Source, citations

log = logging.getLogger(__name__)

SHARED_BY = "shared_by"  # the first block of a shared answer (bot/answering/sharing.py): who shared it
GONE = (":grey_question: I couldn't find that answer any more, so I can't show more of it. Please ask your question "
        "again and I'll answer it afresh.")


@dataclass(frozen=True)
class Click:
    """A click on *Show more* or *Show less*, and the message it was on."""

    expand: bool
    conversation_id: int | None
    user_id: str
    channel_id: str | None
    message_ts: str | None
    ephemeral: bool
    response_url: str | None
    message_blocks: list[dict] = field(default_factory=list)  # what the employee saw (absent for ephemeral ones)

    @classmethod
    def of(cls, body: dict, action: dict) -> Click:
        """The click in a block_actions payload."""
        value, container = str(action.get("value") or ""), body.get("container") or {}
        return cls(expand=action["action_id"] == blocks.SHOW_MORE,
                   conversation_id=int(value) if value.isdigit() else None,
                   user_id=(body.get("user") or {}).get("id", ""),
                   channel_id=container.get("channel_id") or (body.get("channel") or {}).get("id"),
                   message_ts=container.get("message_ts"), ephemeral=bool(container.get("is_ephemeral")),
                   response_url=body.get("response_url") or None,
                   message_blocks=list((body.get("message") or {}).get("blocks") or []))


class ShowMore:
    """Expands an answer message with its recorded extract, or folds it back to the short answer."""

    def __init__(self, store: Store, client: WebClient):
        self.store = store
        self.client = client

    def show(self, click: Click) -> None:
        """After the ack: replace the clicked answer with the recorded answer, expanded or not."""
        conversation = self._conversation(click)
        if conversation is None:
            return self._tell(click, GONE)
        share = click.ephemeral and bool(conversation.private)  # the private copy keeps *Share in channel*
        text, new_blocks = message(conversation, click.expand, click.message_blocks, share=share)
        channel, ts = click.channel_id or conversation.channel_id, click.message_ts or conversation.reply_ts
        if click.ephemeral or not (channel and ts):
            return self._replace_through(click, text, new_blocks)
        try:
            self.client.chat_update(channel=channel, ts=ts, text=text, blocks=new_blocks)
        except SlackApiError as exc:
            if not click.response_url:
                raise
            log.warning("chat.update of answer %s failed (%s); replacing it through the response_url",
                        conversation.id, exc.response.get("error"))
            self._replace_through(click, text, new_blocks)

    def _conversation(self, click: Click) -> Conversation | None:
        if click.conversation_id is not None:
            return self.store.get_conversation(click.conversation_id)
        if click.channel_id and click.message_ts:
            return self.store.find_by_reply(click.channel_id, click.message_ts)
        return None

    def _replace_through(self, click: Click, text: str, new_blocks: list[dict]) -> None:
        if not click.response_url:
            log.warning("cannot show the answer on %s again: no message ts and no response_url", click.channel_id)
            return
        respond(click.response_url, text, new_blocks, replace_original=True)

    def _tell(self, click: Click, text: str) -> None:
        """A note only the clicking employee sees; the message clicked on stays as it is."""
        if click.response_url:
            respond(click.response_url, text)
        elif click.channel_id:
            self.client.chat_postEphemeral(channel=click.channel_id, user=click.user_id, text=text)


def message(conversation: Conversation, expand: bool, shown: Sequence[dict] = (),
            share: bool = False) -> tuple[str, list[dict]]:
    """The fallback text and blocks of a recorded answer, keeping the files note, vote status and who shared it
    (bot/answering/sharing.py) as it was shown with; `share` offers *Share in channel* (the private copy of an
    answer)."""
    kept = {b.get("block_id"): b for b in shown if b.get("block_id") in (VOTE_STATUS, "files_note", SHARED_BY)}
    question = conversation.question if conversation.source == "command" else None  # as ResponseUrlReplier shows it
    if SHARED_BY in kept:
        question = None  # the shared copy names the question in its first line
    answer_blocks = blocks.answer_blocks(recorded_answer(conversation), conversation.id, question=question,
                                         files_note="files_note" in kept, expanded=expand, share=share)
    if SHARED_BY in kept:
        answer_blocks.insert(0, kept[SHARED_BY])
    if VOTE_STATUS in kept:  # under the buttons, as the vote left it
        answer_blocks.append(kept[VOTE_STATUS])
    return slack_blocks.fallback_text(slack_blocks.to_mrkdwn(conversation.answer)), answer_blocks


def recorded_answer(conversation: Conversation) -> Answer:
    """The answer as it was given and recorded: its text, longer extract and numbered sources."""
    sources = tuple(Source(number=s.get("number") or i, path=s.get("path", ""), title=s.get("title") or "",
                           section=s.get("section"), score=s.get("score") or 0.0, url=s.get("url"))
                    for i, s in enumerate(conversation.sources or [], start=1))
    return Answer(question=conversation.question, text=conversation.answer, answered=conversation.answered,
                  sources=sources, answerer=conversation.answerer, prompt_version=conversation.prompt_version,
                  cited=citations(conversation.answer), more=conversation.more or "")

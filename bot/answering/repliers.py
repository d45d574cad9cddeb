"""How an answer reaches the asker: in the asking message's thread (a 👀 while working, answered once even when the
work is taken again, privately in channels that want it) or through a slash command's response URL."""
from __future__ import annotations

import logging

from slack_sdk import WebClient

from bot.answering import blocks
from bot.answering.asking import Reply
from bot.slack import blocks as slack_blocks
from bot.slack.client import WORKING_EMOJI, find_in_thread, post_once, quietly, respond

log = logging.getLogger(__name__)


def render(reply: Reply, echo_question: bool = False, share: bool = False) -> tuple[str, list[dict]]:
    """The fallback text and blocks of a reply (an answer with *Share in channel* when `share`)."""
    if reply.answer is None or reply.conversation_id is None:
        return slack_blocks.fallback_text(reply.text), slack_blocks.notice_blocks(reply.text)
    question = reply.question if echo_question else None
    answer_blocks = blocks.answer_blocks(reply.answer, reply.conversation_id, question=question,
                                         files_note=reply.has_files, share=share)
    return slack_blocks.fallback_text(slack_blocks.to_mrkdwn(reply.text)), answer_blocks


class ThreadReplier:
    """Answers in the asking message's thread, with a 👀 while working; in channels, notices go to the asker only,
    and so do answers in a channel with private answers (`private_answers`), with *Share in channel*."""

    def __init__(self, client: WebClient, *, channel_id: str, thread_ts: str, message_ts: str, user_id: str,
                 private_notices: bool, check_thread_first: bool = False, private_answers: bool = False,
                 show_work: bool = True):
        self.client = client
        self.channel_id, self.thread_ts, self.message_ts = channel_id, thread_ts, message_ts
        self.user_id = user_id
        self.private_notices = private_notices
        self.check_thread_first = check_thread_first  # work taken again: its answer may have been posted already
        self.private_answers = private_answers
        self.show_work = show_work  # False in `auto` channels: no 👀 on a message that may get no answer

    def working(self) -> None:
        if self.show_work:
            quietly(self.client.reactions_add, channel=self.channel_id, timestamp=self.message_ts,
                    name=WORKING_EMOJI)

    def send(self, reply: Reply) -> str | None:
        text, reply_blocks = render(reply, share=self.private_answers)
        if reply.is_answer and self.private_answers:  # an ephemeral message has no ts that buttons could find
            self.client.chat_postEphemeral(channel=self.channel_id, user=self.user_id, thread_ts=self.thread_ts,
                                           text=text, blocks=reply_blocks)
            return None
        if reply.is_answer:
            marker = blocks.answer_marker(reply.conversation_id)
            if self.check_thread_first and (posted := find_in_thread(self.client, self.channel_id, self.thread_ts,
                                                                     marker)[0]):
                log.info("answer %s was already posted in %s; not posting it again", marker, self.channel_id)
                return posted
            return post_once(self.client, channel=self.channel_id, thread_ts=self.thread_ts, text=text,
                             blocks=reply_blocks, marker=marker)
        if self.private_notices:  # a warning about a secret should not draw the channel's attention to it
            self.client.chat_postEphemeral(channel=self.channel_id, user=self.user_id, thread_ts=self.thread_ts,
                                           text=text, blocks=reply_blocks)
            return None
        return self.client.chat_postMessage(channel=self.channel_id, thread_ts=self.thread_ts, text=text,
                                            blocks=reply_blocks)["ts"]

    def finished(self) -> None:
        if self.show_work:
            quietly(self.client.reactions_remove, channel=self.channel_id, timestamp=self.message_ts,
                    name=WORKING_EMOJI)


class ResponseUrlReplier:
    """Answers a slash command to the asker only, through the command's response_url; with *Share in channel*
    (`share`) where there is a channel to share in."""

    def __init__(self, response_url: str, share: bool = False):
        self.response_url = response_url
        self.share = share

    def working(self) -> None:
        """The command's ack already said "Looking it up…"."""

    def send(self, reply: Reply) -> str | None:
        text, reply_blocks = render(reply, echo_question=True, share=self.share)
        respond(self.response_url, text, reply_blocks)
        return None

    def finished(self) -> None:
        """Nothing to take down."""

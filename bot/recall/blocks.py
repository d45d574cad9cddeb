"""Block Kit for policy-change recall: the DM listing a person's answers whose cited sections changed, the helpdesk's
FAQ review list, and the admins' approval list in App Home. Document and user text is escaped: never live markup."""
from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import groupby

from bot.answering.blocks import ESCALATE, HELPFUL, NOT_HELPFUL, answer_buttons
from bot.recall.store import FaqItem, RecallItem
from bot.slack.blocks import button, context, escape, shorten, text_sections
from knowledge.chunking import SECTION_SEPARATOR
from knowledge.sections import changed_lines

RECALL_APPROVE = "recall_approve"  # App Home: approve a run's recalls and send them
# A DM lists several answers, each with 👍/👎/Ask a person, and Slack wants action ids unique within a message: each
# row's ids carry ".recall.<conversation id>", which bot/recall/listeners.py maps back before any listener sees them.
ROW_SUFFIX = ".recall."
ROW_ACTION = re.compile(rf"^({HELPFUL}|{NOT_HELPFUL}|{ESCALATE})\.recall\.\d+$")
MAX_ANSWERS = 8  # answers shown in full in one DM (each ~6 blocks; Slack allows 50)
MAX_FAQ = 15
QUOTE_LIMIT = 600
QUESTION_LIMIT = 200
INTRO = (":memo: *A policy you asked me about has changed.* Below is what my earlier answer relied on and what the "
         "policy says now. Please go by the current text; ask me again for an up-to-date answer.")


def marker(message_id: int) -> str:
    """The block_id that identifies a recall message in Slack (to find it again after an uncertain send)."""
    return f"recall_{message_id}"


def person_message(message_id: int, items: Sequence[RecallItem]) -> tuple[str, list[dict]]:
    """(notification text, blocks) of one person's DM for one run: each affected answer with its changed sections."""
    blocks = text_sections(INTRO, marker(message_id))
    answers = [list(group) for _, group in groupby(items, key=lambda i: i.conversation.id)]
    for group in answers[:MAX_ANSWERS]:
        blocks += _answer_blocks(group)
    if len(answers) > MAX_ANSWERS:
        blocks.append(context(f"…and {len(answers) - MAX_ANSWERS} more of your answers rely on changed sections; "
                              "ask me again for the current rules.", "recall_more"))
    return "A policy you asked about has changed: your earlier answer may be out of date.", blocks


def _answer_blocks(items: list[RecallItem]) -> list[dict]:
    conversation = items[0].conversation
    cid = conversation.id
    question = escape(shorten(conversation.question, QUESTION_LIMIT))
    asked = f"*On {conversation.created_at:%d %b %Y} you asked:* {question}"
    blocks = [{"type": "divider", "block_id": f"recall_divider_{cid}"}, context(asked, f"recall_question_{cid}")]
    for n, item in enumerate(items):
        blocks += text_sections(change_text(item.change, item.relied_on, item.now), f"recall_change_{cid}_{n}")
    blocks.append(context(_sources(items), f"recall_sources_{cid}"))
    blocks.append(row_buttons(cid))
    return blocks


def row_buttons(conversation_id: int) -> dict:
    """An answer's usual buttons, their action ids made unique within a message listing several answers."""
    row = answer_buttons(True, conversation_id)
    row["elements"] = [{**e, "action_id": f"{e['action_id']}{ROW_SUFFIX}{conversation_id}"} for e in row["elements"]]
    return row


def change_text(change, relied_on: str, now: str | None) -> str:
    """'*Your answer relied on* (Title › Section):' its changed sentences, then what the section says now."""
    gone, added = changed_lines(relied_on, now)
    label = escape(_label(change.title, change.section))
    text = f"*Your answer relied on* ({label}):\n{quote(gone or relied_on.split(chr(10)))}\n"
    if now is None:
        return text + "*That section has been removed* from the document."
    if added:
        return text + f"*It now says:*\n{quote(added)}"
    return text + f"*It no longer says that.* The section now reads:\n{quote(now.split(chr(10)))}"


def quote(lines: Sequence[str]) -> str:
    """Lines of document text as an escaped mrkdwn quote, shortened."""
    text = shorten("\n".join(line for line in lines if line.strip()), QUOTE_LIMIT)
    return "\n".join(f"> {escape(line)}" for line in text.split("\n"))


def _sources(items: list[RecallItem]) -> str:
    lines = ["*Sources*"]
    for n, item in enumerate(dict.fromkeys((i.change.path, i.change.title, i.change.section) for i in items), 1):
        path, title, section = item
        url = next((s.get("url") for s in items[0].conversation.sources or []
                    if s.get("path") == path and s.get("url")), None)
        label = escape(_label(title, section)).replace("|", "/")
        link = f"<{url}|{label}>" if url and _is_web_url(url) else label
        lines.append(f"[{n}] {link}")
    return "\n".join(lines)


def helpdesk_message(message_id: int, items: Sequence[FaqItem]) -> tuple[str, list[dict]]:
    """The FAQ entries to review because a section their answer was based on changed."""
    intro = (":mag: *FAQ entries to review.* A policy section that these helpdesk answers were based on has "
             "changed; check each still holds, and edit or remove it (`rollout faq remove ID`).")
    blocks = text_sections(intro, marker(message_id))
    for n, item in enumerate(items[:MAX_FAQ]):
        head = (f"*FAQ {item.entry.id}:* {escape(shorten(item.entry.question, QUESTION_LIMIT))}\n"
                f"_Answer:_ {escape(shorten(item.entry.answer, QUESTION_LIMIT))}\n")
        blocks += text_sections(head + change_text(item.change, item.before, item.now), f"faq_review_{n}")
    if len(items) > MAX_FAQ:
        blocks.append(context(f"…and {len(items) - MAX_FAQ} more; `rollout recall list` shows them all.",
                              "faq_review_more"))
    return f"{len(items)} FAQ entries cite a policy section that changed; please review them.", blocks


def home_blocks(pending: Sequence[tuple[str, int, int]]) -> list[dict]:
    """Admins' App Home: each run with messages awaiting approval, (run id, people, FAQ lists), with Approve."""
    if not pending:
        return []
    blocks: list[dict] = [{"type": "header", "block_id": "recall_header",
                           "text": {"type": "plain_text", "text": "Policy-change recalls to approve"}}]
    for run_id, people, faq in pending:
        text = (f"Ingest run `{escape(run_id)}`: {people} {'person' if people == 1 else 'people'} to tell about "
                f"answers whose sources changed" + (", and FAQ entries for the helpdesk to review" if faq else "")
                + ". `rollout recall preview` shows the messages.")
        blocks.append({"type": "section", "block_id": f"recall_run_{run_id}", "text": {"type": "mrkdwn", "text": text},
                       "accessory": button(RECALL_APPROVE, "Approve and send", run_id, primary=True)})
    return blocks


def _label(title: str, section: str | None) -> str:
    return f"{title}{SECTION_SEPARATOR}{section}" if section else title


def _is_web_url(url: str) -> bool:
    return url.startswith(("https://", "http://")) and not any(c in url for c in " <>|")

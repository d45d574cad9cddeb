"""Helpdesk answers that become knowledge: stored, written as Markdown with front matter under <data dir>/faq/ and
indexed at once, so the next employee who asks is answered from it, cited as "Helpdesk FAQ"."""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from bot.errors import NotFound
from bot.helpdesk.errors import HelpdeskError
from bot.answering.safety import redact
from bot.helpdesk.tables import FaqEntry
from bot.helpdesk.store import HelpdeskStore
from bot.store.models import utc_now

FAQ_TITLE = "Helpdesk FAQ"


class Faq:
    """FAQ entries over the store, the faq/ folder and the knowledge base."""

    def __init__(self, store: HelpdeskStore, knowledge_base, data_dir: Path,
                 clock: Callable[[], datetime] = utc_now):
        self.store, self.knowledge_base, self.clock = store, knowledge_base, clock
        self.folder = Path(data_dir) / "faq"

    def add(self, question: str, answer: str, created_by: str, ticket_id: int | None = None) -> FaqEntry:
        """Store, write and index an entry (secrets and personal data redacted)."""
        question = " ".join(redact(question).split())
        answer = redact(answer).strip()
        if not question or not answer:
            raise HelpdeskError("An FAQ entry needs both a question and an answer.")
        self.folder.mkdir(parents=True, exist_ok=True)
        entry = self.store.add_faq(question, answer, ticket_id, created_by, self.clock(), self.path_for)
        Path(entry.path).write_text(document(entry), encoding="utf-8")
        self.knowledge_base.ingest([Path(entry.path)])
        return entry

    def remove(self, entry_id: int, actor: str) -> FaqEntry:
        """Delete an entry, its document, and its chunks from the index."""
        entry = self.store.remove_faq(entry_id, actor, self.clock())
        if entry is None:
            raise NotFound(f"There is no FAQ entry {entry_id}; `rollout faq list` shows them.")
        Path(entry.path).unlink(missing_ok=True)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.knowledge_base.ingest([self.folder], prune=True)  # drops documents whose file is gone
        return entry

    def entries(self) -> list[FaqEntry]:
        return self.store.faq_entries()

    def path_for(self, entry_id: int) -> Path:
        return self.folder / f"helpdesk-faq-{entry_id}.md"


def document(entry: FaqEntry) -> str:
    """The entry as Markdown with front matter; its heading is the question, so citations name it."""
    return (f"---\ntitle: {FAQ_TITLE}\nsource: helpdesk\nfaq_id: {entry.id}\n"
            f"ticket: {entry.ticket_id if entry.ticket_id is not None else ''}\n"
            f"created_at: {entry.created_at.isoformat(timespec='seconds')}\n---\n\n"
            f"# {_heading(entry.question)}\n\n{entry.answer}\n")


def _heading(question: str) -> str:
    return re.sub(r"[#\r\n]+", " ", question).strip()

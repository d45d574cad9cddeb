"""Helpdesk answers that become knowledge: stored, written as Markdown with front matter under <data dir>/faq/ and
indexed at once, so the next employee who asks is answered from it, cited as "Helpdesk FAQ".

An entry is saved (`save`) before it is indexed (`index`): one saved while the knowledge base (Chroma) is down is
kept, its agent is told it is not searchable yet, and `index_pending` (the `faq-index` job, which also runs at every start) indexes it once the knowledge base is back.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from bot.answering.safety import redact
from bot.errors import NotFound
from bot.helpdesk.errors import HelpdeskError
from bot.helpdesk.store import HelpdeskStore
from bot.helpdesk.tables import FaqEntry
from bot.store.models import utc_now

log = logging.getLogger(__name__)
RETRY_AFTER = timedelta(minutes=1)
FAQ_TITLE = "Helpdesk FAQ"


class Faq:
    """FAQ entries over the store, the faq/ folder and the knowledge base."""

    def __init__(self, store: HelpdeskStore, knowledge_base, data_dir: Path,
                 clock: Callable[[], datetime] = utc_now):
        self.store, self.knowledge_base, self.clock = store, knowledge_base, clock
        self.folder = Path(data_dir) / "faq"

    def save(self, question: str, answer: str, created_by: str, ticket_id: int | None = None) -> FaqEntry:
        """Store an entry (secrets and personal data redacted), not yet indexed."""
        question = " ".join(redact(question).split())
        answer = redact(answer).strip()
        if not question or not answer:
            raise HelpdeskError("An FAQ entry needs both a question and an answer.")
        return self.store.add_faq(question, answer, ticket_id, created_by, self.clock(), self.path_for)

    def index(self, entry: FaqEntry) -> FaqEntry | None:
        """Write the entry's document and index it; the entry as now recorded indexed, or None if the knowledge
        base could not be reached (or another process recorded it first). The document is written from the stored
        entry each time, so any process can index it."""
        self.folder.mkdir(parents=True, exist_ok=True)
        Path(entry.path).write_text(document(entry), encoding="utf-8")
        try:
            self.knowledge_base.ingest([Path(entry.path)])
        except Exception:
            log.warning("FAQ entry %s is stored but could not be indexed; it is indexed once the knowledge base is "
                        "back", entry.id, exc_info=True)
            return None
        return self.store.faq_indexed(entry.id, self.clock())

    def index_pending(self, now: datetime) -> list[FaqEntry]:
        """Index the entries saved while the knowledge base was down (at least RETRY_AFTER ago: a fresh one is being
        indexed by its own worker); those this call indexed. Stops at the first that fails: the knowledge base is
        still down."""
        indexed = []
        for entry in self.store.faq_entries(indexed=False):
            if entry.created_at > now - RETRY_AFTER:
                continue
            if (done := self.index(entry)) is not None:
                indexed.append(done)
            elif self.store.faq_entries(indexed=False, ids=[entry.id]):
                break  # still not indexed: the knowledge base is still down
        return indexed

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

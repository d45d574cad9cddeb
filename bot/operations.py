"""What an operator asks a serving process: /metrics (bot/metrics.py, plus figures read from the database when
scraped) and /readyz (the database, Chroma and the model, each checked)."""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import make_url, select

from bot.answering.safety import redact_secrets
from bot.metrics import Figures, enable, exposition, figures_registry
from bot.store.models import ProcessedEvent

log = logging.getLogger(__name__)

ERROR_CHARS = 200


@dataclass(frozen=True)
class Check:
    """One readiness check: its name and what failed (None: passed)."""

    name: str
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None


class Operations:
    """/metrics and /readyz over one process's runtime."""

    def __init__(self, runtime):
        self.runtime = runtime
        enable()  # this process's counts are read from now on
        self._figures = figures_registry(self.figures)

    def metrics(self) -> bytes:
        """Every process's counts (or this one's) and the database figures, in Prometheus' text format."""
        return exposition(self._figures)

    def figures(self) -> Figures:
        """The gauges read from the database now."""
        runtime = self.runtime
        now = runtime.clock()
        depth, oldest = runtime.work.backlog()
        sla = timedelta(minutes=runtime.settings.rollout_escalation_sla_minutes)
        helpdesk = runtime.helpdesk_store
        return Figures(queue_depth=depth,
                       queue_oldest_seconds=max(0.0, (now - oldest).total_seconds()) if oldest else 0.0,
                       tickets=helpdesk.ticket_counts(), tickets_past_sla=helpdesk.overdue_count(now - sla),
                       incidents=helpdesk.incident_counts())

    def readiness(self) -> tuple[bool, dict]:
        """Whether this process can answer questions, and the JSON body naming each check."""
        checks = [_check("database", self._database), _check("chroma", self._chroma), _check("model", self._model)]
        ready = all(check.ok for check in checks)
        body = {"status": "ready" if ready else "not ready",
                "checks": {c.name: {"ok": True} if c.ok else {"ok": False, "error": c.error} for c in checks}}
        return ready, body

    def _database(self) -> None:
        url = make_url(self.runtime.settings.resolved_database_url)
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:") \
                and not Path(url.database).exists():
            # a pooled connection still reads the removed file; everything written from now on would be lost
            raise RuntimeError(f"the SQLite file {url.database} is gone")
        with self.runtime.sessions() as session:
            session.execute(select(ProcessedEvent.key).limit(1)).all()

    def _chroma(self) -> None:
        knowledge_base = self.runtime.knowledge_base
        if knowledge_base is None:
            raise RuntimeError("no knowledge base in this process")
        knowledge_base.index.heartbeat()

    def _model(self) -> None:
        knowledge_base = self.runtime.knowledge_base
        if knowledge_base is None or not knowledge_base.index.embedder.loaded:
            raise RuntimeError("the embedding model is not loaded yet")


def _check(name: str, run: Callable[[], None]) -> Check:
    try:
        run()
    except Exception as exc:
        reason = redact_secrets(f"{type(exc).__name__}: {exc}".splitlines()[0])[:ERROR_CHARS]
        log.warning("readiness: %s failed: %s", name, reason)
        return Check(name, reason)
    return Check(name, None)

"""Fault injection with real parts: PostgreSQL behind a line that can be cut, a `chroma run` server that can be
stopped, and the fake Slack Web API answering 500, 429, `not_in_channel` or nothing at all.

Each workflow's module runs its flow with one fault active, clears it, lets the retries run (Slack's redelivery of
an unacked event, the lease of acked work running out, the periodic jobs), and checks: nothing acked is lost, the
person was told the truth, the server is healthy, and nothing was done twice."""
from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import make_url

from knowledge.answer import make_answerer
from knowledge.base import KnowledgeBase
from knowledge.index import KnowledgeIndex
from tests.chroma_server import chroma_server  # noqa: F401  (fixture)
from tests.conftest import _postgres_schema
from tests.faults.cut import Line
from tests.helpdesk.conftest import HelpdeskRollout, start_helpdesk  # noqa: F401  (fixture)
from tests.scenario.conftest import fake_slack, knowledge_base  # noqa: F401  (fixtures)

LEASE = 1.0  # seconds: acked work a failure let go is taken again this soon
SLACK_FAULTS = ("slack_500", "slack_429", "not_in_channel", "no_answer")
FAULTS = ("database", "chroma", *SLACK_FAULTS)


@pytest.fixture(scope="session")
def chroma_kb(chroma_server, knowledge_base, tmp_path_factory) -> KnowledgeBase:  # noqa: F811
    """The sample policies on the real Chroma server: the session's chunks and vectors copied, not re-embedded."""
    source = knowledge_base.index
    ids = [cid for cid, _ in source.all_metadata()]
    found = source.get(ids, with_vectors=True)
    index = KnowledgeIndex(tmp_path_factory.mktemp("chroma-kb"), source.embedder, chroma_server.url,
                           collection=f"faults_{uuid.uuid4().hex[:12]}")
    index.upsert([found[cid][0] for cid in ids], np.stack([found[cid][1] for cid in ids]))
    index.bump_generation()
    index.rebuild_lexical()
    return KnowledgeBase(index, make_answerer("extractive"))


@pytest.fixture
def postgres_line(postgres_database) -> Iterator[tuple[str, Line]]:
    """A fresh schema of the real PostgreSQL, reached through a line the test can cut."""
    line = Line(("127.0.0.1", 5432))
    schemas = _postgres_schema(postgres_database)
    url = make_url(next(schemas)).set(port=line.port).render_as_string(hide_password=False)
    yield url, line
    line.close()
    next(schemas, None)


@dataclass
class Faulty:
    """A running Rollout (helpdesk and incidents included) and the fault to inject into it."""

    r: HelpdeskRollout
    fault: str
    line: Line | None
    chroma: object

    @contextmanager
    def active(self, methods: tuple[str, ...] = ("chat.postMessage",)):
        """The fault, for the block: the database line cut, Chroma stopped, or Slack failing `methods`."""
        if self.fault == "database":
            with self.line.down():
                yield
        elif self.fault == "chroma":
            with self.chroma.down():
                yield
        else:
            for method in methods:
                _fail(self.r.slack, method, self.fault)
            try:
                yield
            finally:
                self.r.slack.clear_faults()

    def retries(self, after: float = LEASE * 3) -> None:
        """What happens on its own once the fault is gone: work whose lease ran out is taken again."""
        self.r.settle()
        intake = self.r.services.intake
        intake.resume(intake.clock() + timedelta(seconds=after))
        self.r.settle()

    def healthy(self) -> None:
        assert self.r.healthz() == 200


def _fail(slack, method: str, fault: str, times: int = 1000) -> None:
    if fault == "slack_500":
        slack.fail_next(method, times, status=500, retry_after=None)
    elif fault == "slack_429":
        slack.fail_next(method, times, status=429, retry_after=0)
    elif fault == "not_in_channel":
        slack.refuse_next(method, "not_in_channel", times)
    else:  # no answer: the connection is closed without a response, as when Slack times out
        slack.drop_next(method, times)


@pytest.fixture(params=FAULTS)
def faulty(request, start_helpdesk, chroma_kb, chroma_server) -> Callable[..., Faulty]:  # noqa: F811
    """faulty(**settings) -> Rollout on PostgreSQL through a cuttable line (for the database fault; SQLite otherwise),
    answering from the Chroma server, with the parametrized fault ready to inject."""
    fault, line = request.param, None
    url = None
    if fault == "database":
        url, line = request.getfixturevalue("postgres_line")

    def start(**settings) -> Faulty:
        r = start_helpdesk(url, kb=chroma_kb, rollout_work_lease_seconds=LEASE, **settings)
        return Faulty(r, fault, line, chroma_server)

    return start

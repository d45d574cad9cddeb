"""`KnowledgeBase.as_retriever()`: our hybrid retrieval as a langchain BaseRetriever, over the real index and model,
composed in an LCEL chain the way an organisation would use it."""
from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableLambda, RunnablePassthrough

from knowledge.answer import make_answerer
from knowledge.audiences import audiences_of
from knowledge.base import KnowledgeBase
from knowledge.errors import BadQuestion
from knowledge.index import KnowledgeIndex

POLICIES = Path(__file__).resolve().parents[2] / "knowledge" / "policies"
APPROVED = "which AI tools are approved?"
RETENTION = "How long are prompts and responses stored?"


@pytest.fixture(scope="module")
def kb(tmp_path_factory, embedder) -> KnowledgeBase:
    base = KnowledgeBase(KnowledgeIndex(tmp_path_factory.mktemp("retriever"), embedder), make_answerer("extractive"))
    base.ingest([POLICIES], warn=lambda _message: None, progress=False)
    return base


def test_the_retriever_returns_the_passages_ask_ranks_best_first_with_their_sources(kb):
    retriever = kb.as_retriever()
    documents = retriever.invoke(APPROVED)

    assert isinstance(retriever, BaseRetriever) and all(isinstance(d, Document) for d in documents)
    passages = kb.retriever.retrieve(APPROVED).passages[:5]
    assert [d.id for d in documents] == [p.chunk.id for p in passages]
    assert [d.page_content for d in documents] == [p.chunk.text for p in passages]
    scores = [d.metadata["score"] for d in documents]
    assert scores == sorted(scores, reverse=True) and scores == pytest.approx([p.score for p in passages])
    top, cited = documents[0].metadata, kb.ask(APPROVED).sources[0]
    assert (top["source"], top["section"], top["title"]) == (cited.path, cited.section, cited.title)
    assert top["section"] == "Approved AI tools" and top["url"] == cited.url and cited.url.startswith("https://")


def test_k_limits_how_many_passages_come_back(kb):
    assert len(kb.as_retriever(k=2).invoke(APPROVED)) == 2


def test_audiences_decide_which_restricted_passages_can_come_back(kb):
    def restricted(documents: list[Document]) -> list[tuple[str, ...]]:
        found = kb.index.get([d.id for d in documents])
        return [names for d in documents if (names := audiences_of(found[d.id][0].metadata))]

    general = kb.as_retriever(k=30).invoke(RETENTION)
    pilot = kb.as_retriever(audiences=["pilot"]).invoke(RETENTION)

    assert general and restricted(general) == []
    assert ("pilot",) in restricted(pilot) and ("engineering",) not in restricted(pilot)
    assert "Logging and retention of prompts › Retention during the pilot" in [d.metadata["section"] for d in pilot]


def test_an_empty_query_is_refused_with_the_message_ask_gives(kb):
    with pytest.raises(BadQuestion, match="Please ask a question"):
        kb.as_retriever().invoke("   ")


def test_the_retriever_composes_in_an_lcel_chain(kb):
    def cite(documents: list[Document]) -> str:
        return "\n".join(f"[{n}] {d.metadata['title']} › {d.metadata['section']}"
                         for n, d in enumerate(documents, start=1))

    chain = ({"context": kb.as_retriever(k=3) | RunnableLambda(cite), "question": RunnablePassthrough()}
             | RunnableLambda(lambda inputs: f"Question: {inputs['question']}\nSources:\n{inputs['context']}"))
    prompt = chain.invoke(APPROVED)

    assert prompt.startswith(f"Question: {APPROVED}\nSources:\n[1] ")
    assert "› Approved AI tools" in prompt.splitlines()[2] and "[3] " in prompt

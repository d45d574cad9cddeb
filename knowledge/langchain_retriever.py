"""Our hybrid retriever as a langchain `BaseRetriever`, so an organisation can compose it in its own chains.

`KnowledgeBase.as_retriever()` returns one. Each call runs the same retrieval as `rollout ask` (dense, best-sentence
and BM25 scores fused, the asker's document audiences applied: knowledge/retrieve.py) and returns the best passages as
langchain `Document`s, best first. This module imports langchain_core, which costs `rollout ask` ~0.3 s: only
`as_retriever` imports it, never the answer path.
"""
from __future__ import annotations

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

from knowledge.base import MAX_SOURCES, KnowledgeBase, validate_question
from knowledge.retrieve import Passage


class HybridRetriever(BaseRetriever):
    """The knowledge base's passages for a query, best first, as `Document`s whose metadata names their source
    (`source` the document's path, `title`, `section`, `url`) and `score` (the fused passage score)."""

    knowledge_base: KnowledgeBase
    audiences: tuple[str, ...] = ()  # retrieve as someone in these document audiences (none: general documents only)
    k: int = MAX_SOURCES

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        evidence = self.knowledge_base.retriever.retrieve(validate_question(query), (), self.knowledge_base.scope(self.audiences))
        return [as_document(passage) for passage in evidence.passages[:self.k]]


def as_document(passage: Passage) -> Document:
    """A passage as a langchain Document: its text, and where it comes from and how well it scored."""
    meta = passage.chunk.metadata
    return Document(id=passage.chunk.id, page_content=passage.chunk.text, metadata={
        "source": passage.path, "title": meta.get("title", passage.path), "section": meta.get("section") or None,
        "url": meta.get("url"), "score": float(passage.score)})

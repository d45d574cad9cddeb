"""Hybrid retrieval: dense chunk similarity, best-sentence similarity and BM25, fused into one passage score.

Candidates come from Chroma (dense top-k) and BM25 (lexical top-k); every candidate is then scored exactly:

    score = (chunk_cos + W_SENT * best_sentence_cos + W_SENT2 * mean_top2_sentence_cos) / (1 + W_SENT + W_SENT2)
            + W_LEX * bm25 / max_bm25

and documents by their best passage's score plus W_DOC2 times their second best's.

The sentence terms let one precise sentence outrank a chunk that is only broadly on topic; the weights were chosen by
measurement on ../shared/eval/dev.jsonl (README, "Evaluation") and are the same for every question. The heading a
chunk sits directly under counts as one more of its sentences for these two terms (never for quoting): the rows of an
"Approved AI tools" table do not say that they are the approved tools, the heading does.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Sequence

import numpy as np

from knowledge.audiences import APPLIES, GENERAL, Scope, audiences_of
from knowledge.index import KnowledgeIndex, StoredChunk

W_SENT = 0.4
W_SENT2 = 0.2
W_LEX = 0.1
# A document is ranked by its best passage plus this share of its second best: of two documents with equally good
# best passages, the one that says more about the question comes first. Any value from 0.02 to 0.08 gave the same
# ranking on dev; measured there like the weights above.
W_DOC2 = 0.05
CANDIDATES = 30


@dataclass
class Passage:
    """A retrieved chunk with its scores and its sentences' similarities to the question."""

    chunk: StoredChunk
    score: float
    dense: float
    sentence: float
    lexical: float
    sentences: list[str] = field(default_factory=list)
    sentence_scores: np.ndarray = field(default_factory=lambda: np.zeros(0))
    heading: float = 0.0  # similarity of the heading the chunk sits under

    @property
    def path(self) -> str:
        return self.chunk.metadata.get("path", "")


@dataclass
class Evidence:
    """What retrieval found for a question, best first."""

    question: str
    query: str
    passages: list[Passage]
    query_vector: np.ndarray

    @property
    def top(self) -> Passage | None:
        return self.passages[0] if self.passages else None

    @cached_property
    def document_scores(self) -> dict[str, float]:
        """Each document's score: its best passage's, plus a little of its second best (corroboration)."""
        best: dict[str, list[float]] = {}
        for passage in self.passages:
            found = best.setdefault(passage.path, [])
            if len(found) < 2:
                found.append(passage.score)
        return {path: top[0] + W_DOC2 * (top[1] if len(top) > 1 else 0.0) for path, top in best.items()}

    @cached_property
    def documents(self) -> list[Passage]:
        """The best passage of each document, best document first."""
        seen: dict[str, Passage] = {}
        for passage in self.passages:
            seen.setdefault(passage.path, passage)
        return sorted(seen.values(), key=lambda p: self.document_scores[p.path], reverse=True)


def follow_up_query(question: str, history: Sequence[tuple[str, str]]) -> str:
    """The text to search with: read with the question before it when there is history to read it with (the caller
    decides whether a question needs it: see `follow_up_kind`)."""
    if not history:
        return question
    previous = history[-1][0]
    return f"{previous}\n{question}"


CONTINUES = "continues"
REFERS = "refers"


def follow_up_kind(question: str) -> str | None:
    """How a question may lean on the one before it: CONTINUES when it opens like a continuation ("and for
    contractors?", "what about X") — always read with it; REFERS when it may point back ("does it…", "is that…") or
    is too short to be sure ("how long?") — read with it only when it cannot be answered alone; None otherwise."""
    text = _EXPLETIVE.sub(" ", question.casefold())
    if _CONTINUATION.match(text):
        return CONTINUES
    if len(re.findall(r"[\w']+", text)) <= 3 or _REFERS_BACK.search(text):
        return REFERS
    return None


# "Is it ok to…", "it takes", "is it possible…": an 'it' that stands for what follows, not for an earlier topic.
_EXPLETIVE = re.compile(r"\b(?:is|was|would|will) it (?:ok|okay|fine|alright|allowed|possible|true|safe|acceptable|"
                        r"legal|permitted|required|necessary|mandatory|normal|worth|better|bad|wrong|right)\b(?: that)?|"
                        r"\bit(?:'s| is) (?:ok|okay|fine|allowed|possible|true|safe|required|necessary)\b|"
                        r"\bhow long (?:does|will|would) it take\b|\bwhat (?:is|does) it take\b")
_CONTINUATION = re.compile(r"\s*(?:and|or|but|also|plus|then|so what|what about|how about|what if|same for|"
                           r"same question|and if|what else|anything else|why not)\b")
_REFERS_BACK = re.compile(r"\b(?:it|its|it's|these|those|they|them|their|theirs|the same|either|neither|both|he|"
                          r"she|him|her|instead|too|as well)\b"
                          # 'that'/'this' refer back as objects ("is that…", "about this"), not as relative pronouns
                          # ("a leak that happened") nor for the bot itself ("what is this bot?")
                          r"|(?:^|\b(?:is|was|does|did|do|will|would|can|could|about|for|with|of|to|in|on|by|means?|"
                          r"use|than|like))\s*\b(?:that|this)\b(?!\s+(?:bot|assistant|app|chat)\b)|"
                          r"\b(?:that|this)(?: one)?\s*\??\s*$")


class Retriever:
    """Finds and ranks the passages that answer a question."""

    def __init__(self, index: KnowledgeIndex, candidates: int = CANDIDATES):
        self.index = index
        self.candidates = candidates

    def retrieve(self, question: str, history: Sequence[tuple[str, str]] = (), scope: Scope = GENERAL,
                 vector: np.ndarray | None = None) -> Evidence:
        """The passages that answer a question, among the chunks that apply to `scope` (knowledge/audiences.py);
        `vector`: the query's, when an earlier search of the same query has it."""
        query = follow_up_query(question, history)
        vector = self.index.embedder.encode_query(query) if vector is None else vector
        lexical = self.index.lexical()
        # Without restricted chunks, the general scope is every chunk: no filter at all.
        where = scope.where() if lexical.audiences or scope.mode != APPLIES else None
        dense_ids = [cid for cid, _ in self.index.nearest_ids(vector, self.candidates, where)]
        bm25 = lexical.within(lexical.scores(query), scope.admits)
        lexical_ids = [cid for cid, _ in lexical.search(query, self.candidates, bm25)]
        found = self.index.get(list(dict.fromkeys(dense_ids + lexical_ids)), with_vectors=True)
        found = {cid: hit for cid, hit in found.items() if scope.admits(audiences_of(hit[0].metadata))}
        top_lexical = float(bm25.max()) if len(bm25) and bm25.max() > 0 else 1.0
        passages = [self._score(chunk, chunk_vector, vector, lexical.score_of(bm25, cid) / top_lexical)
                    for cid, (chunk, chunk_vector) in found.items()]
        passages.sort(key=lambda p: p.score, reverse=True)
        return Evidence(question, query, passages, vector)

    def _score(self, chunk: StoredChunk, chunk_vector: np.ndarray, query: np.ndarray, lexical: float) -> Passage:
        dense = float(np.dot(chunk_vector, query))
        sentences = chunk.sentences
        sentence_vectors = chunk.packed("sentence_vectors", len(query))
        sims = sentence_vectors @ query if len(sentence_vectors) else np.array([dense])
        heading = chunk.packed("heading_vector", len(query)) @ query
        ranked = np.sort(np.concatenate([sims, heading]))[::-1]  # the heading is one more cue, never quoted
        best, top2 = float(ranked[0]), float(ranked[:2].mean())
        score = (dense + W_SENT * best + W_SENT2 * top2) / (1 + W_SENT + W_SENT2) + W_LEX * lexical
        return Passage(chunk, score, dense, best, lexical, sentences, sims if len(sentence_vectors) else np.zeros(0),
                       float(heading.max()) if len(heading) else 0.0)

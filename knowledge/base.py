"""The knowledge base: one object that ingests documents and answers questions from them."""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterable, Sequence

from knowledge import (
    extractive,  # noqa: F401  (registers the extractive answerer)
    llm,  # noqa: F401  (registers the llm answerer)
)
from knowledge.abstain import Abstention
from knowledge.answer import CITATION, Answer, Answerer, Source, citations, make_answerer
from knowledge.audiences import GENERAL, MINE, Scope, combined, leading_audiences, other_rules_note, scope_for
from knowledge.chunking import DEFAULT_MAX_CHARS
from knowledge.embeddings import shared_embedder
from knowledge.errors import BadQuestion, NotIndexed
from knowledge.index import KnowledgeIndex
from knowledge.ingest import Ingestor, IngestSummary
from knowledge.retrieve import CONTINUES, REFERS, Evidence, Retriever, follow_up_kind, follow_up_query
from knowledge.sections import document_changes, section_texts

MAX_QUESTION_CHARS = 4000
MAX_SOURCES = 5
NEAR_MISS_SOURCES = 2
SECTION_CACHE_SIZE = 64  # documents whose section texts are kept for recording what answers cite


@dataclass(frozen=True)
class CitedSection:
    """The text of a section an answer cites, when it was given."""

    number: int
    path: str
    section: str | None
    text: str


@dataclass(frozen=True)
class IndexedDocument:
    """One document in the index, for `rollout sources`."""

    path: str
    title: str
    chunks: int
    indexed_at: str
    url: str | None


class KnowledgeBase:
    """Ingest, index, retrieval and answers behind one small surface."""

    def __init__(self, index: KnowledgeIndex, answerer: Answerer, abstention: Abstention | None = None,
                 max_chars: int = DEFAULT_MAX_CHARS):
        self.index = index
        self.retriever = Retriever(index)
        self.answerer = answerer
        self.abstention = abstention or Abstention()
        self.max_chars = max_chars
        # The audience names the organisation has, asked on each question (knowledge/audiences.py): only they and
        # those `<!-- audience: … -->` markers name restrict a document. None: every name a document gives does.
        self.known_audiences: Callable[[], Iterable[str]] | None = None
        self._section_cache: dict[tuple[str, str], dict[str | None, str]] = {}

    @classmethod
    def open(cls, data_dir: Path, chroma_url: str | None = None, embedding_model: str | None = None,
             answerer: str = "extractive", **answerer_options) -> "KnowledgeBase":
        """Open (or create) the knowledge base under a data dir or on a Chroma server."""
        index = KnowledgeIndex(Path(data_dir), shared_embedder(embedding_model), chroma_url)
        return cls(index, make_answerer(answerer, **answerer_options))

    def warm_up(self) -> "KnowledgeBase":
        """Load the model and the lexical index now, so the first question is as fast as the rest."""
        self.index.embedder.load()
        self.index.lexical().prepare_respelling()  # else the first misspelt question pays ~0.3 s to build it
        return self

    def prefetch(self, question: str) -> None:
        """Start on a question that will be asked without history: its embedding joins the next batch."""
        try:
            question = validate_question(question)
        except BadQuestion:
            return  # `ask` will say what is wrong with it
        self.index.embedder.prefetch(follow_up_query(question, ()))

    def as_retriever(self, audiences: Sequence[str] = (), k: int = MAX_SOURCES):
        """This knowledge base's hybrid retrieval as a langchain `BaseRetriever` (knowledge/langchain_retriever.py):
        the best `k` passages as Documents with source, title, section, url and score, for an organisation's chains."""
        from knowledge.langchain_retriever import HybridRetriever  # langchain_core stays out of the answer path

        return HybridRetriever(knowledge_base=self, audiences=tuple(audiences), k=k)

    def ingest(self, paths: Sequence[Path], prune: bool = False, **options) -> IngestSummary:
        return Ingestor(self.index, max_chars=self.max_chars, **options).run(list(paths), prune=prune)

    def ask(self, question: str, history: Sequence[tuple[str, str]] = (), audiences: Sequence[str] = ()) -> Answer:
        """Answer a question from the indexed documents that apply to someone in `audiences` (none: the general
        documents only), citing them; say so plainly when they don't answer it."""
        return self.ask_with_evidence(question, history, audiences)[0]

    def ask_with_evidence(self, question: str, history: Sequence[tuple[str, str]] = (),
                          audiences: Sequence[str] = ()) -> tuple[Answer, Evidence]:
        """The answer and the retrieval evidence behind it (for evaluation and diagnostics)."""
        started = time.perf_counter()
        question = validate_question(question)
        scope = self.scope(audiences)
        answer, evidence, history = self._answer(question, tuple(history), scope)
        if answer.answered and self.index.lexical().audiences:
            answer = self._for_audience(question, history, scope, answer, evidence)
        return _with_latency(answer, started), evidence

    def _for_audience(self, question: str, history: tuple, scope: Scope, answer: Answer,
                      evidence: Evidence) -> Answer:
        """When the answer leads with a section of the asker's own audience, their rule leads, labelled, and the
        general rule follows, labelled for everyone else; when an answer from every section would lead with another
        audience's, a line says that they have different rules. Otherwise the answer stands as it is."""
        vector = evidence.query_vector
        if names := leading_audiences(answer, evidence) & scope.audiences:
            own = self._answer(question, history, scope.within(MINE), vector)[0]
            general = self._answer(question, history, replace(scope, audiences=frozenset()), vector)[0]
            return combined(own, names, general) if own.answered else answer
        everything = replace(scope, audiences=scope.audiences | set(scope.restricting(self.audiences())))
        full, found, _ = self._answer(question, history, everything, vector)
        if names := set(scope.restricting(leading_audiences(full, found))) - scope.audiences:
            return replace(answer, text=f"{answer.text}\n\n{other_rules_note(names)}")
        return answer

    def _answer(self, question: str, history: tuple, scope: Scope,
                vector=None) -> tuple[Answer, Evidence, tuple]:
        """The answer from the chunks in `scope`, its evidence, and the history it was read with."""
        history, evidence = self._read(question, history, scope, vector)
        return self._answer_from(question, evidence, history), evidence, history

    def _answer_from(self, question: str, evidence: Evidence, history: tuple) -> Answer:
        """The answer this evidence gives (a don't-know when it is not enough)."""
        sources = numbered_sources(evidence)
        answer = None
        if self.abstention.answerable(evidence):
            answer = self.answerer.answer(question, evidence, sources, history)
            answer = answer if self.answerer.name == "extractive" else renumbered(answer)  # its own numbering is right
        if answer is None or not answer.text.strip():
            suggested = sources[:NEAR_MISS_SOURCES] if self.abstention.near_miss(evidence) else ()
            answer = Answer(question, dont_know(suggested), False, suggested, self.answerer.name,
                            getattr(self.answerer, "prompt_version", None))
        return answer

    def _read(self, question: str, history: tuple, scope: Scope = GENERAL, vector=None) -> tuple[tuple, Evidence]:
        """The history the question needs, and its evidence: a question that stands alone is read alone, so an earlier
        topic never leaks into it (nor makes an off-topic question answerable); one that may point back is read with
        the question before it only when it cannot be answered alone."""
        kind = follow_up_kind(question) if history else None
        if kind == CONTINUES:
            return history, self.retriever.retrieve(question, history, scope, vector)
        evidence = self.retriever.retrieve(question, (), scope, None if history else vector)
        if kind == REFERS and not self.abstention.answerable(evidence):
            return history, self.retriever.retrieve(question, history, scope, vector)
        return (), evidence

    def cited_sections(self, answer: Answer) -> list[CitedSection]:
        """The whole text of each section the answer cites, as indexed now: what it relied on, kept with it so that a
        later change to the section can be found and shown (bot/recall/recalls.py)."""
        cited = answer.shown_sources(expanded=True) if answer.answered else []
        out = []
        for source in cited:
            if (text := self._sections(source.path).get(source.section)) is not None:
                out.append(CitedSection(source.number, source.path, source.section, text))
        return out

    def _sections(self, path: str) -> dict[str | None, str]:
        """A document's section texts, read once per index generation (the same policies answer most questions)."""
        key = (self.index.generation(), path)  # read each time: an answer just after an ingest cites the new text
        if key not in self._section_cache:
            if len(self._section_cache) >= SECTION_CACHE_SIZE:
                self._section_cache.pop(next(iter(self._section_cache)))
            self._section_cache[key] = section_texts(self.index.document_chunks(path))
        return self._section_cache[key]

    def scope(self, audiences: Sequence[str] = ()) -> Scope:
        """What someone in `audiences` may be answered from, among the audiences the organisation has."""
        if self.known_audiences is None:
            return scope_for(audiences)
        return scope_for(audiences, {*self.known_audiences(), *self.index.lexical().declared})

    def audiences(self) -> frozenset[str]:
        """Every audience some indexed chunk is restricted to (knowledge/audiences.py)."""
        return self.index.lexical().restricted_names()

    def documents(self) -> list[IndexedDocument]:
        """Every indexed document with its chunk count and when it was indexed."""
        docs: dict[str, dict] = {}
        for _, meta in self.index.all_metadata():
            doc = docs.setdefault(meta.get("path", ""), {"title": meta.get("title", ""), "chunks": 0,
                                                        "indexed_at": meta.get("indexed_at", ""),
                                                        "url": meta.get("url")})
            doc["chunks"] += 1
            doc["indexed_at"] = max(doc["indexed_at"], meta.get("indexed_at", ""))
        return [IndexedDocument(path, **info) for path, info in sorted(docs.items())]

    def forget(self, paths: Sequence[Path], on_changes=None) -> list[IndexedDocument]:
        """Remove documents from the index, their files left alone; NotIndexed, removing nothing, when one is not
        indexed. A path is a file as ingested (wherever it is given from) or a path as `rollout sources` lists it.
        Nothing remembers a forgotten document: ingesting its file again indexes it again. `on_changes` gets their
        sections as removed before anything is (as with ingest: for policy-change recall)."""
        by_key: dict[str, dict] = {}
        for cid, meta in self.index.all_metadata():
            doc = by_key.setdefault(meta.get("path", ""), {"ids": [], "meta": meta})
            doc["ids"].append(cid)
        found = [(key, by_key[key]) for key in dict.fromkeys(_indexed_key(Path(p), by_key) for p in paths)]
        ids = [cid for _, doc in found for cid in doc["ids"]]
        if on_changes is not None:
            removed = [change for key, doc in found for change in document_changes(
                key, doc["meta"].get("title") or key, [c for c, _ in self.index.get(doc["ids"]).values()], None)]
            if removed:
                on_changes(removed)  # raises: nothing is forgotten
        self.index.delete(ids)
        self.index.bump_generation()
        self.index.rebuild_lexical()
        return [IndexedDocument(key, doc["meta"].get("title", ""), len(doc["ids"]), doc["meta"].get("indexed_at", ""),
                                doc["meta"].get("url")) for key, doc in found]


def _indexed_key(path: Path, by_key: dict[str, dict]) -> str:
    """The index key of the document ingested from `path` (its file), else listed as `path`; NotIndexed if none."""
    if path.exists():
        wanted = path.resolve()
        for key, doc in by_key.items():
            origin = doc["meta"].get("origin")
            if origin and Path(origin).resolve() == wanted:
                return key
    if path.as_posix() in by_key:
        return path.as_posix()
    raise NotIndexed(f"{path} is not indexed: `rollout sources` lists what is")


def validate_question(question: str) -> str:
    """The question, stripped; BadQuestion when it is empty or too long."""
    question = (question or "").strip()
    if not question:
        raise BadQuestion("Please ask a question: the text was empty.")
    if len(question) > MAX_QUESTION_CHARS:
        raise BadQuestion(f"That question is {len(question):,} characters long; please keep it under "
                          f"{MAX_QUESTION_CHARS:,} characters and ask about one thing at a time.")
    return question


def numbered_sources(evidence: Evidence) -> tuple[Source, ...]:
    """The best passage of each of the top documents, numbered from 1."""
    return tuple(
        Source(n, p.path, p.chunk.metadata.get("title", p.path), p.chunk.metadata.get("section") or None,
               float(evidence.document_scores[p.path]), p.chunk.metadata.get("url"))
        for n, p in enumerate(evidence.documents[:MAX_SOURCES], start=1)
    )


def dont_know(sources: Sequence[Source]) -> str:
    text = ("I don't know: I couldn't find this in the policy documents I have, and I'd rather not guess. "
            "You can ask the helpdesk to follow up.")
    if sources:
        text += " You could look at the documents below; they come close."
    return text


def renumbered(answer: Answer) -> Answer:
    """The answer with its sources numbered 1..n in order of first use in the text (then its longer extract), and
    only the sources it cites: whatever the answerer numbered, a reader never sees [2] first or a gap."""
    if not answer.answered:
        return answer
    order: dict[int, int] = {}
    for number in map(int, CITATION.findall(f"{answer.text}\n{answer.more}")):
        if any(s.number == number for s in answer.sources):
            order.setdefault(number, len(order) + 1)
    by_number = {s.number: s for s in answer.sources}
    sources = tuple(replace(by_number[old], number=new) for old, new in order.items())

    def renumber(text: str) -> str:
        return CITATION.sub(lambda m: f"[{order[int(m[1])]}]" if int(m[1]) in order else m[0], text)

    text = renumber(answer.text)
    return replace(answer, text=text, more=renumber(answer.more), sources=sources, cited=citations(text))


def _with_latency(answer: Answer, started: float) -> Answer:
    return replace(answer, latency_ms=int((time.perf_counter() - started) * 1000))

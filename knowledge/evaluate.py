"""`rollout eval`: retrieval, abstention and answer quality on a question set like ../shared/eval/dev.jsonl."""
from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from knowledge.abstain import fit_threshold, held_out_accuracy
from knowledge.errors import KnowledgeError

# Key facts are also counted within the answer's first EARLY_CHARS characters (facts@300): what a reader sees first.
# Both figures are measured on the short answer (`answer`), never on the longer extract behind *Show more*.
EARLY_CHARS = 300


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    question: str
    answerable: bool
    expected_paths: tuple[str, ...]
    key_facts: tuple[str, ...]
    history: tuple[str, ...] = ()  # earlier questions of the same conversation, oldest first (for follow-ups)


@dataclass
class QuestionResult:
    id: str
    answerable: bool
    answered: bool
    rank: int | None  # 1-based rank of the first expected document, None if not in the top 10
    facts_found: int
    facts_total: int
    latency_ms: float
    confidence: float
    facts_early: int = 0  # key facts within the first EARLY_CHARS characters of the answer
    facts_with_more: int = 0  # key facts in the answer or its longer extract (Show more)
    answer_chars: int = 0  # length of the short answer (what people see first), 0 when not answered


@dataclass
class EvalReport:
    questions: int
    answerable: int
    recall_at_1: float
    recall_at_5: float
    mrr_at_10: float
    abstention_accuracy: float
    abstention_held_out: float  # leave-one-out: the threshold fitted on the other questions
    fitted_threshold: float  # the threshold that fits this question set best (ship it only if fitted on dev)
    key_fact_coverage: float
    facts_at_300: float
    key_fact_coverage_with_more: float  # in the answer or behind Show more: what one click reaches
    median_answer_chars: float
    latency_p50_ms: float
    latency_p95_ms: float
    results: list[QuestionResult] = field(default_factory=list)

    def to_json(self, details: bool = False) -> dict:
        data = asdict(self)
        if not details:
            data.pop("results")
        return data

    def text(self) -> str:
        return "\n".join([
            f"questions: {self.questions} ({self.answerable} answerable)",
            f"recall@1: {self.recall_at_1:.3f}   recall@5: {self.recall_at_5:.3f}   MRR@10: {self.mrr_at_10:.3f}",
            f"abstention accuracy: {self.abstention_accuracy:.3f}   held out (threshold refitted leaving each "
            f"question out): {self.abstention_held_out:.3f}   best threshold here: {self.fitted_threshold:.3f}",
            f"key-fact coverage: {self.key_fact_coverage:.3f}   facts@{EARLY_CHARS}: {self.facts_at_300:.3f}   "
            f"median answer length: {self.median_answer_chars:.0f} characters   "
            f"key facts with Show more: {self.key_fact_coverage_with_more:.3f}",
            f"ask latency: p50 {self.latency_p50_ms:.1f} ms, p95 {self.latency_p95_ms:.1f} ms",
        ])


def load_dataset(path: Path) -> list[EvalQuestion]:
    """Read a JSONL question set; a malformed line is an error naming its line number."""
    questions = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise KnowledgeError(f"cannot read dataset {path}: {exc.strerror or exc}") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            questions.append(EvalQuestion(str(row["id"]), row["question"], bool(row["answerable"]),
                                          tuple(row.get("expected_paths", ())), tuple(row.get("key_facts", ())),
                                          tuple(row.get("history", ()))))
        except (ValueError, KeyError, TypeError) as exc:
            raise KnowledgeError(f"{path}:{number}: not a question record ({exc})") from exc
    if not questions:
        raise KnowledgeError(f"{path}: no questions found")
    return questions


def evaluate(kb, questions: list[EvalQuestion]) -> EvalReport:
    """Ask every question of an already-ingested knowledge base and score the results."""
    results = [_run(kb, q) for q in questions]
    return summarise(results)


def _run(kb, q: EvalQuestion) -> QuestionResult:
    history = [(earlier, kb.ask(earlier).text) for earlier in q.history]
    answer, evidence = kb.ask_with_evidence(q.question, history)
    ranked = [p.path for p in evidence.documents[:10]]
    rank = next((i + 1 for i, path in enumerate(ranked) if path in set(q.expected_paths)), None)
    text = answer.text.casefold() if answer.answered else ""
    found = sum(1 for fact in q.key_facts if fact.casefold() in text)
    early = sum(1 for fact in q.key_facts if fact.casefold() in text[:EARLY_CHARS])
    whole = f"{text}\n{answer.more.casefold()}" if answer.answered else ""
    with_more = sum(1 for fact in q.key_facts if fact.casefold() in whole)
    return QuestionResult(q.id, q.answerable, answer.answered, rank, found, len(q.key_facts),
                          float(answer.latency_ms), kb.abstention.confidence(evidence), facts_early=early,
                          answer_chars=len(text), facts_with_more=with_more)


def summarise(results: list[QuestionResult]) -> EvalReport:
    answerable = [r for r in results if r.answerable]
    n = max(len(answerable), 1)
    latencies = np.array([r.latency_ms for r in results]) if results else np.zeros(1)
    facts_total = sum(r.facts_total for r in answerable)
    return EvalReport(
        questions=len(results), answerable=len(answerable),
        recall_at_1=sum(r.rank == 1 for r in answerable) / n,
        recall_at_5=sum(r.rank is not None and r.rank <= 5 for r in answerable) / n,
        mrr_at_10=sum(1 / r.rank for r in answerable if r.rank) / n,
        abstention_accuracy=sum(r.answered == r.answerable for r in results) / max(len(results), 1),
        abstention_held_out=held_out_accuracy([r.confidence for r in results], [r.answerable for r in results]),
        fitted_threshold=fit_threshold([r.confidence for r in results], [r.answerable for r in results]),
        key_fact_coverage=sum(r.facts_found for r in answerable) / max(facts_total, 1),
        facts_at_300=sum(r.facts_early for r in answerable) / max(facts_total, 1),
        key_fact_coverage_with_more=sum(r.facts_with_more for r in answerable) / max(facts_total, 1),
        median_answer_chars=float(np.median(lengths)) if (lengths := [r.answer_chars for r in results if r.answered])
        else 0.0,
        latency_p50_ms=float(np.percentile(latencies, 50)), latency_p95_ms=float(np.percentile(latencies, 95)),
        results=results,
    )


def evaluate_corpus(dataset: Path, corpus: Path, open_kb, progress: bool = False) -> EvalReport:
    """Ingest a corpus into a temporary store, then evaluate; `open_kb(data_dir)` builds the knowledge base."""
    questions = load_dataset(dataset)
    if not corpus.is_dir():
        raise KnowledgeError(f"corpus {corpus} is not a folder")
    with tempfile.TemporaryDirectory(prefix="rollout-eval-") as tmp:
        kb = open_kb(Path(tmp))
        summary = kb.ingest([corpus], progress=progress)
        if summary.files_read == 0:
            raise KnowledgeError(f"nothing could be read from {corpus}")
        return evaluate(kb, questions)

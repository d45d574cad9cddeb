"""The extractive answerer: no LLM; the answer is the most relevant sentences of the best passages, cited."""
from __future__ import annotations

import re
from typing import Sequence

from knowledge.answer import Answer, Source, answerer_kind
from knowledge.retrieve import Evidence, Passage

MAX_PASSAGES = 3
MAX_CHARS = 900
# A further passage contributes its best sentence only when that sentence is nearly as relevant as the best one.
RELATIVE_SENTENCE_FLOOR = 0.9


@answerer_kind("extractive")
class ExtractiveAnswerer:
    """Composes a short answer from the best sentences and cites their sources by number."""

    name = "extractive"
    prompt_version = None

    def __init__(self, options: str = "", **_):
        self.options = options

    def answer(self, question: str, evidence: Evidence, sources: Sequence[Source],
               history: Sequence[tuple[str, str]] = ()) -> Answer:
        numbers = {s.path: s.number for s in sources}
        picked: list[tuple[str, int]] = []
        best = None
        for passage in evidence.passages[:MAX_PASSAGES]:
            number = numbers.get(passage.path)
            if number is None:
                continue
            chosen = _chosen_sentences(passage, first=best is None, floor=(best or 0) * RELATIVE_SENTENCE_FLOOR)
            if best is None:
                best = passage.sentence
            picked.extend((sentence, number) for sentence in chosen if sentence not in {s for s, _ in picked})
        text = _compose(picked)
        cited = tuple(dict.fromkeys(n for _, n in picked))
        return Answer(question, text, True, tuple(sources), self.name, None, cited=cited)


def _chosen_sentences(passage: Passage, first: bool, floor: float) -> list[str]:
    """The best sentence of a passage and, for the top passage, the sentence around it that completes it."""
    sentences = passage.sentences or [passage.chunk.text]
    if len(passage.sentence_scores) != len(sentences):
        return sentences[:2] if first else []
    order = sorted(range(len(sentences)), key=lambda i: -passage.sentence_scores[i])
    i = order[0]
    if not first:
        return [sentences[i]] if passage.sentence_scores[i] >= floor else []
    chosen = [i]
    if i + 1 < len(sentences):
        chosen.append(i + 1)  # definitions, numbers and list items usually follow the sentence that matches
    if len(order) > 1 and order[1] not in chosen:
        chosen.append(order[1])
    return [sentences[j] for j in sorted(chosen)]


def _compose(picked: list[tuple[str, int]]) -> str:
    parts: list[str] = []
    length = 0
    for sentence, number in picked:
        clean = re.sub(r"^\s*(?:[-*+]|\d+[.)]|[a-z][.)]|[ivx]+[.)])\s+", "", sentence).strip()
        piece = f"{clean} [{number}]"
        if parts and length + len(piece) > MAX_CHARS:
            break
        parts.append(piece)
        length += len(piece) + 1
    return " ".join(parts)

"""The extractive answerer: no LLM; the answer is the most relevant sentences of the best passages, cited.

Sentences of the top passages are ranked by their similarity to the question plus a share of their passage's score
(a table row by its heading's similarity, when that is higher),
and taken best first until the length budget is spent or the next one is far less relevant than the best. A sentence
comes with what it needs to be read: the list after an intro ending in ':', the sentence before when it opens with
"They" or "This", the sentence after when that one does. The chosen sentences are then read in document order, each
group cited by its source number.
"""
from __future__ import annotations

import re
from typing import Sequence

from knowledge.answer import Answer, Source, answerer_kind
from knowledge.retrieve import Evidence
from knowledge.tables import is_table_row

PASSAGES = 5
BUDGET_CHARS = 1100
# Sentences much less relevant than the best one are left out even when the budget has room: an answer stops where
# its evidence does. Budget and span were chosen together on dev (README, "Evaluation"): key facts per character.
RELEVANCE_SPAN = 0.4
PASSAGE_PRIOR = 0.5
LIST_CONTINUATION = 4
# A table row rarely says what its table is about ("Tool: GitHub Copilot Business; Who may use it: …" never says
# "approved"): it is at least this share of its heading's similarity to the question ("Approved AI tools"). With it, a
# table cut across two chunks is quoted from both; dev and policy figures are the same anywhere in 0.8-1.0.
HEADING_SHARE = 0.9


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
        chosen = select_sentences(evidence, set(numbers))
        picked = [(evidence.passages[r].sentences[i], numbers[evidence.passages[r].path]) for r, i in chosen]
        cited = tuple(dict.fromkeys(n for _, n in picked))
        return Answer(question, compose(picked), True, tuple(sources), self.name, None, cited=cited)


def select_sentences(evidence: Evidence, citable: set[str]) -> list[tuple[int, int]]:
    """(passage rank, sentence index) pairs to answer with, in reading order."""
    ranked = []
    for r, passage in enumerate(evidence.passages[:PASSAGES]):
        if passage.path not in citable:
            continue
        for i, score in enumerate(passage.sentence_scores[:len(passage.sentences)]):
            if is_table_row(passage.sentences[i]):
                score = max(float(score), HEADING_SHARE * passage.heading)
            ranked.append((float(score) + PASSAGE_PRIOR * passage.score, r, i))
    ranked.sort(reverse=True)
    chosen: dict[tuple[int, int], None] = {}
    length = 0
    for relevance, r, i in ranked:
        if relevance < ranked[0][0] - RELEVANCE_SPAN:
            break
        group = _with_context(evidence.passages[r].sentences, i)
        if len(group) == 1 and _introduces_list(evidence.passages[r].sentences[i]):
            continue  # "Here are some examples:" with its examples in another chunk says nothing
        size = sum(len(evidence.passages[r].sentences[j]) for j in group if (r, j) not in chosen)
        if chosen and length + size > BUDGET_CHARS:
            break
        for j in group:
            chosen.setdefault((r, j))
        length += size
    return sorted(chosen)


def _introduces_list(sentence: str) -> bool:
    return sentence.rstrip().endswith(":")


def _with_context(sentences: list[str], i: int) -> list[int]:
    """A sentence with what it needs to be read, and what needs it: the sentence before when it opens with "They" or
    "This" (its antecedent), the sentence after when that one does, and the list items after an intro ending in ':'.
    """
    start = i - 1 if i > 0 and _ANAPHOR.match(_LIST_MARKER.sub("", sentences[i])) else i
    if _introduces_list(sentences[i]):
        return list(range(start, min(i + 1 + LIST_CONTINUATION, len(sentences))))
    end = i + 2 if i + 1 < len(sentences) and _ANAPHOR.match(sentences[i + 1]) else i + 1
    return _list_intro(sentences, i) + list(range(start, end))


def _list_intro(sentences: list[str], i: int) -> list[int]:
    """For a bullet item, the sentence that opens its list ("The following are not approved:"), when the passage has
    it: an item read without it can say the opposite of what its list says."""
    if not _BULLET.match(sentences[i]):
        return []
    j = i
    while j > 0 and _BULLET.match(sentences[j - 1]):
        j -= 1
    return [j - 1] if j > 0 else []


_ANAPHOR = re.compile(r"(?:They|Them|Their|It|Its|This|These|Those|That|Such|He|She|Both|Either|Neither)\b")
_BULLET = re.compile(r"^\s*[-*+•]\s+")
_LIST_MARKER = re.compile(r"^\s*(?:[-*+•]|\d+[.)]|[a-z][.)]|[ivx]+[.)])\s+")


def compose(picked: list[tuple[str, int]]) -> str:
    """Sentences in order, a citation marker after each run from the same source; bullet items on lines of their own.

    Outline numbers ("a.", "iv.", "1.") are dropped: out of their document they number nothing."""
    text = ""
    was_item = False
    for k, (sentence, number) in enumerate(picked):
        is_item = bool(_BULLET.match(sentence))
        body = _LIST_MARKER.sub("", sentence).strip()
        if k + 1 == len(picked) or picked[k + 1][1] != number:
            body = f"{body} [{number}]"
        if is_item:
            text += f"\n• {body}" if text else f"• {body}"
        else:
            text += ("\n" if was_item else " ") + body if text else body
        was_item = is_item
    return text

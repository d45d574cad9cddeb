"""The extractive answerer: no LLM; the answer is the policy's own sentences, the one that answers first, cited.

Sentences of the top passages are ranked by their similarity to the question plus a share of their passage's score
(a table row by its heading's similarity, when that is higher). For a "may I / can I / am I allowed" question a
sentence that states a rule (must, never, only, may not …) gains a little, so the rule that decides it leads.

The reply has two parts:

- the **answer**: the best sentence first, with what it needs to be read (the intro of its list, its antecedent, the
  rest of its list or table when the question is about the list as a whole), then the few next-best sentences that are
  nearly as relevant, up to a short budget. This is what people see first.
- the **more**: the rest of the relevant material, in document order, up to a longer budget, behind *Show more*.

Each sentence is cited with its own document and section; sources are numbered 1..n in order of first use.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

from knowledge.answer import Answer, Source, answerer_kind, citations
from knowledge.chunking import ABOUT_SECTION
from knowledge.retrieve import Evidence
from knowledge.tables import is_table_row

PASSAGES = 5
# The short answer: the best group, then groups within SHORT_SPAN of the best while they fit in SHORT_BUDGET.
SHORT_BUDGET = 480
SHORT_SPAN = 0.2
# The longer extract behind Show more: chosen on dev as key facts per character (README, "Evaluation").
BUDGET_CHARS = 1100
RELEVANCE_SPAN = 0.4
PASSAGE_PRIOR = 0.5
LIST_CONTINUATION = 4
# A whole list or table is given when the question is about it as a whole (its heading matches better than any row)
# and it is no longer than this; else only the rows nearly as relevant as the best one.
WHOLE_LIST_CHARS = 900
ROW_SPAN = 0.06
# A table row rarely says what its table is about ("Tool: GitHub Copilot Business; Who may use it: …" never says
# "approved"): it is at least this share of its heading's similarity to the question ("Approved AI tools"). With it, a
# table cut across two chunks is quoted from both; dev and policy figures are the same anywhere in 0.8-1.0.
HEADING_SHARE = 0.9
# How much a rule ("must not", "never", "only", "may") gains for a permission question: enough to lead among
# sentences about as relevant, never enough to lift an off-topic rule over the sentence that answers.
RULE_BONUS = 0.04
# A document's front matter ("The AI Pilot Programme FAQ applies to pilot participants.") is close to every question
# on its topic but answers only questions about the document itself (its owner, version, dates): it leads only when
# clearly closer than the policy's own sentences.
ABOUT_PENALTY = 0.1
# "This procedure tells you what to treat as an incident, how to report it…": a sentence about the document itself
# is close to every question on its topic and answers none of them.
META_PENALTY = 0.2
# A list nearly as relevant as the best sentence ("Only the tools below are approved:" and its rows) joins the short
# answer whole even past the budget: half a list misleads.
LIST_SPAN = 0.03
# How much less relevant a sentence with a time or quantity may be than the best one and still lead, for a question
# that asks "how long / how quickly / how many / when".
QUANTITY_SPAN = 0.25


@dataclass(frozen=True)
class Quote:
    """One sentence to quote, where it comes from, and how relevant it is."""

    relevance: float
    rank: int  # passage rank
    index: int  # sentence index in the passage


@answerer_kind("extractive")
class ExtractiveAnswerer:
    """Composes a short answer-first reply from the best sentences, cites each by its own section."""

    name = "extractive"
    prompt_version = None

    def __init__(self, options: str = "", **_):
        self.options = options

    def answer(self, question: str, evidence: Evidence, sources: Sequence[Source],
               history: Sequence[tuple[str, str]] = ()) -> Answer:
        citable = {s.path: s for s in sources}
        ranked = rank_sentences(evidence, set(citable), question)
        short = select_short(evidence, ranked, question)
        rest = select_sentences(evidence, ranked, short)
        if not short:  # every close sentence was a bare list intro: the extract is the answer
            short, rest = rest, []
        numbering = SourceNumbers(evidence, citable)
        text = compose([(evidence.passages[r].sentences[i], numbering.of(r, i)) for r, i in short])
        more = compose([(evidence.passages[r].sentences[i], numbering.of(r, i)) for r, i in rest])
        return Answer(question, text, bool(text), numbering.sources(), self.name, None, cited=citations(text),
                      more=more)


class SourceNumbers:
    """Numbers sources 1..n in order of first use, one per document section quoted."""

    def __init__(self, evidence: Evidence, documents: dict[str, Source]):
        self.evidence = evidence
        self.documents = documents
        self.keys: dict[tuple[str, str | None], int] = {}

    def of(self, rank: int, index: int) -> int:
        passage = self.evidence.passages[rank]
        key = (passage.path, passage.chunk.section_of(index))
        return self.keys.setdefault(key, len(self.keys) + 1)

    def sources(self) -> tuple[Source, ...]:
        return tuple(Source(number, path, self.documents[path].title, section, self.documents[path].score,
                            self.documents[path].url)
                     for (path, section), number in self.keys.items())


def rank_sentences(evidence: Evidence, citable: set[str], question: str = "") -> list[Quote]:
    """Every sentence of the top passages with its relevance, best first."""
    permission = is_permission_question(question)
    passages = [(r, p) for r, p in enumerate(evidence.passages[:PASSAGES]) if p.path in citable]
    ranked = []
    for r, passage in passages:
        for i, sentence in enumerate(passage.sentences):
            score = float(passage.sentence_scores[i]) if i < len(passage.sentence_scores) else 0.0
            if is_table_row(sentence):
                score = max(score, HEADING_SHARE * passage.heading)
            if permission and _RULE.search(sentence):
                score += RULE_BONUS
            if _ABOUT_ITSELF.match(sentence):
                score -= META_PENALTY
            if passage.chunk.metadata.get("section") == ABOUT_SECTION:
                score -= ABOUT_PENALTY
            ranked.append(Quote(score + PASSAGE_PRIOR * passage.score, r, i))
    ranked.sort(key=lambda q: (q.relevance, -q.rank, -q.index), reverse=True)
    return ranked


def _lead(evidence: Evidence, ranked: list[Quote], question: str) -> list[Quote]:
    """The sentence to lead with: the best, unless the question asks for a time or a quantity ("how quickly", "how
    many", "when") and the best has none while one nearly as relevant does ("Report within 1 hour…")."""
    if not ranked:
        return []
    wanted = _WANTS_QUANTITY.search(question or "")
    if wanted and not _QUANTITY.search(_text(evidence, ranked[0])):
        for quote in ranked[1:]:
            if quote.relevance < ranked[0].relevance - QUANTITY_SPAN:
                break
            if _QUANTITY.search(_text(evidence, quote)):
                return [quote]
    return ranked[:1]


def _text(evidence: Evidence, quote: Quote) -> str:
    return _sentence(evidence, (quote.rank, quote.index))


def _sentence(evidence: Evidence, key: tuple[int, int]) -> str:
    return evidence.passages[key[0]].sentences[key[1]]


def select_short(evidence: Evidence, ranked: list[Quote], question: str = "") -> list[tuple[int, int]]:
    """The answer people see first: the best sentence and what it needs, then the next-best while they fit."""
    chosen: dict[tuple[int, int], None] = {}
    said: set[str] = set()
    lead: list[tuple[int, int]] = []
    length = 0
    # The answer leads from the document retrieval ranks first (right for ~90% of questions, better than any
    # sentence's own rank); the rest may come from anywhere.
    top = evidence.documents[0].path if evidence.documents else None
    ranked = _lead(evidence, [q for q in ranked if evidence.passages[q.rank].path == top], question) + ranked
    for quote in ranked:
        if quote.relevance < ranked[0].relevance - SHORT_SPAN:
            break
        if (quote.rank, quote.index) in chosen:
            continue
        group = [key for key in _unit(evidence, ranked, quote)
                 if _said(_sentence(evidence, key)) not in said or key in chosen]
        if not group or (len(group) == 1 and _introduces_list(_sentence(evidence, group[0]))):
            continue
        size = sum(len(_sentence(evidence, key)) for key in group if key not in chosen)
        items = sum(_is_item(_sentence(evidence, key)) for key in group)
        whole_list = items > 1 and quote.relevance >= ranked[0].relevance - LIST_SPAN
        if chosen and length + size > SHORT_BUDGET and not whole_list:
            continue
        lead = lead or group
        for key in group:
            chosen.setdefault(key)
            said.add(_said(_sentence(evidence, key)))
        length += size
    return _once(evidence, _reading_order(evidence, lead, list(chosen)))


def _once(evidence: Evidence, keys: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Each sentence once, where it is first read (a list's intro is repeated in every piece of it)."""
    seen: set[str] = set()
    kept = []
    for r, i in keys:
        said = _said(evidence.passages[r].sentences[i])
        if said not in seen:
            seen.add(said)
            kept.append((r, i))
    return kept


@lru_cache(maxsize=4096)  # asked of the same few dozen sentences many times per answer
def _said(sentence: str) -> str:
    """A sentence as compared for repetition: documents often repeat one ("If it is not labeled, …") word for word."""
    return " ".join(re.sub(r"[^\w\s]", "", sentence.casefold()).split())


def _reading_order(evidence: Evidence, lead: list[tuple[int, int]],
                   keys: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The lead group first, then the other sentences by section in the order chosen, each section in document order
    (a list cut across two chunks reads as one)."""
    def section(key: tuple[int, int]) -> tuple[str, str | None]:
        passage = evidence.passages[key[0]]
        return passage.path, passage.chunk.metadata.get("section")

    def in_document(key: tuple[int, int]) -> tuple[int, int]:
        return int(evidence.passages[key[0]].chunk.metadata.get("ordinal", 0)), key[1]

    first_seen: dict[tuple[str, str | None], int] = {}
    for n, key in enumerate(keys):
        first_seen.setdefault(section(key), n)
    rest = [key for key in keys if key not in set(lead)]
    return sorted(lead, key=in_document) + sorted(rest, key=lambda key: (first_seen[section(key)], in_document(key)))


def _unit(evidence: Evidence, ranked: list[Quote], quote: Quote) -> list[tuple[int, int]]:
    """The sentence with its context; for a list item or table row, or a sentence that points at the list after it
    ("the tools below"), the list's intro and the items that belong with it — from every retrieved piece of that list
    when chunking cut it."""
    r, sentences = quote.rank, evidence.passages[quote.rank].sentences
    group = [(r, j) for j in _with_context(sentences, quote.index)]
    items = _list_around(sentences, quote.index) if _is_item(sentences[quote.index]) else \
        _list_after(sentences, quote.index)
    if not items:
        return group
    passage = evidence.passages[r]
    scores = [float(passage.sentence_scores[j]) for j in items if j < len(passage.sentence_scores)]
    about_the_list = not _is_item(sentences[quote.index]) or passage.heading * HEADING_SHARE >= max(scores, default=0)
    if about_the_list:
        members = [(r, j) for j in items] + _continuations(evidence, r, sentences[items[0] - 1] if items[0] else "")
        if sum(len(evidence.passages[k].sentences[j]) for k, j in members) > WHOLE_LIST_CHARS:
            members = members[:0]
    else:
        relevance = {q.index: q.relevance for q in ranked if q.rank == r}
        members = [(r, j) for j in items if relevance.get(j, -1.0) >= quote.relevance - ROW_SPAN]
    intro = [(r, j) for j in _list_intro(sentences, items[0])] if _is_item(sentences[items[0]]) else []
    return sorted(set(group) | set(members) | set(intro))


def _list_after(sentences: list[str], i: int) -> list[int]:
    """The items of the list a sentence introduces: it ends in ':' or speaks of what is "below"/"following", and
    only sentences of its own paragraph (at most two) stand between it and the list."""
    if not (_introduces_list(sentences[i]) or _POINTS_AHEAD.search(sentences[i])):
        return []
    start = next((j for j in range(i + 1, min(i + 4, len(sentences))) if _is_item(sentences[j])), None)
    return [] if start is None else _list_around(sentences, start)


def _continuations(evidence: Evidence, r: int, intro: str) -> list[tuple[int, int]]:
    """The items of the same list in other retrieved passages (chunking cut it, and repeated its intro in each
    piece): passages of the same document and section holding the same intro sentence followed by items."""
    passage = evidence.passages[r]
    found = []
    for k, other in enumerate(evidence.passages[:PASSAGES]):
        if k == r or other.path != passage.path or intro not in other.sentences or \
                other.chunk.metadata.get("section") != passage.chunk.metadata.get("section"):
            continue
        at = other.sentences.index(intro)
        if at + 1 < len(other.sentences) and _is_item(other.sentences[at + 1]):
            start = at
            while start > 0 and other.sentences[start - 1] in passage.sentences:
                start -= 1  # the rest of the repeated intro: where the list is read first, its intro is too
            found += [(k, j) for j in range(start, at + 1)] + [(k, j) for j in _list_around(other.sentences, at + 1)]
    return found


def _list_around(sentences: list[str], i: int) -> list[int]:
    """The indices of the list (or table) items around item i."""
    start = end = i
    while start > 0 and _is_item(sentences[start - 1]):
        start -= 1
    while end + 1 < len(sentences) and _is_item(sentences[end + 1]):
        end += 1
    return list(range(start, end + 1))


def select_sentences(evidence: Evidence, ranked: list[Quote],
                     already: Sequence[tuple[int, int]] = ()) -> list[tuple[int, int]]:
    """The longer extract, leaving out what `already` says: (passage rank, sentence index) pairs, in reading order."""
    said = {_said(_sentence(evidence, key)) for key in already}
    chosen: dict[tuple[int, int], None] = {}
    length = 0
    for quote in ranked:
        if quote.relevance < ranked[0].relevance - RELEVANCE_SPAN:
            break
        sentences = evidence.passages[quote.rank].sentences
        group = _with_context(sentences, quote.index)
        if len(group) == 1 and _introduces_list(sentences[quote.index]):
            continue  # "Here are some examples:" with its examples in another chunk says nothing
        fresh = [(quote.rank, j) for j in group if _said(sentences[j]) not in said]
        size = sum(len(_sentence(evidence, key)) for key in fresh)
        if chosen and length + size > BUDGET_CHARS:
            break
        for key in fresh:
            chosen.setdefault(key)
            said.add(_said(_sentence(evidence, key)))
        length += size
    return _reading_order(evidence, [], list(chosen))


def is_permission_question(question: str) -> bool:
    """"May I…", "can we…", "am I allowed to…", "is it ok to…": a question a rule decides."""
    return bool(_PERMISSION.search(question or ""))


_PERMISSION = re.compile(
    r"^\s*(?:(?:so|and|but|ok|okay|hi|hey)[,\s]+)?(?:may|can|could|am|are|is it|is that|should|must|do|does|"
    r"shall)\b(?:\s+(?:i|we|you|they|my|our|people|staff|employees|contractors|it|that|this))?"
    r"|\b(?:allowed|permitted|ok to|okay to|fine to|alright to)\b",
    re.IGNORECASE,
)
_RULE = re.compile(
    r"\b(?:must|never|only|may(?:\s+not)?|cannot|can't|can not|not allowed|prohibited|forbidden|permitted|"
    r"allowed|required|do not|don't|not permitted|not approved|approved)\b",
    re.IGNORECASE,
)


def _introduces_list(sentence: str) -> bool:
    return sentence.rstrip().endswith(":")


def _is_item(sentence: str) -> bool:
    return bool(_BULLET.match(sentence))


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


_WANTS_QUANTITY = re.compile(
    r"\b(?:how (?:long|many|much|often|fast|quickly|soon|late|early|old)|when|what time|what date|which (?:day|date)|"
    r"deadline|how many days|within how)\b", re.IGNORECASE)
_QUANTITY = re.compile(
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|sixty|ninety|"
    r"hundred|once|twice|immediately|same day|annual(?:ly)?|monthly|weekly|daily|quarterly|yearly|hourly)\b",
    re.IGNORECASE)
_ABOUT_ITSELF = re.compile(
    r"\s*(?:this|these|the following|our)\s+(?:\w+\s+){0,3}?(?:policy|policies|procedure|procedures|document|guide|"
    r"guidelines|protocols|standard|page|section|FAQ|handbook|programme|program)\s+(?:\w+\s+){0,2}?(?:tells?|"
    r"explains?|sets? out|describes?|covers?|outlines?|defines?|summari[sz]es?|is for|gives?|answers?|lists?)\b",
    re.IGNORECASE)
_POINTS_AHEAD = re.compile(r"\b(?:below|the following|as follows)\b", re.IGNORECASE)
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

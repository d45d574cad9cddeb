import numpy as np

from knowledge.base import numbered_sources
from knowledge.index import StoredChunk
from knowledge.retrieve import W_DOC2, Evidence, Passage


def passage(path: str, score: float) -> Passage:
    return Passage(StoredChunk(f"{path}-{score}", "text", {"path": path, "title": path.upper()}), score,
                   dense=score, sentence=score, lexical=0.0)


def evidence(*passages: Passage) -> Evidence:
    return Evidence("q", "q", sorted(passages, key=lambda p: p.score, reverse=True), np.zeros(3))


def test_a_document_with_a_second_good_passage_outranks_one_with_a_single_slightly_better_passage():
    ev = evidence(passage("single.md", 0.60), passage("corroborated.md", 0.59), passage("corroborated.md", 0.55))

    assert [p.path for p in ev.documents] == ["corroborated.md", "single.md"]
    assert ev.document_scores["corroborated.md"] == 0.59 + W_DOC2 * 0.55
    assert ev.top.path == "single.md"  # abstention still judges the best passage alone


def test_a_clearly_better_passage_still_wins_against_corroboration():
    ev = evidence(passage("strong.md", 0.70), passage("weak.md", 0.60), passage("weak.md", 0.58))

    assert [p.path for p in ev.documents] == ["strong.md", "weak.md"]


def test_sources_are_numbered_in_document_order_with_the_document_score():
    ev = evidence(passage("a.md", 0.60), passage("b.md", 0.59), passage("b.md", 0.55), passage("a.md", 0.1))

    sources = numbered_sources(ev)

    assert [(s.number, s.path) for s in sources] == [(1, "b.md"), (2, "a.md")]
    assert sources[0].score == ev.document_scores["b.md"] and sources[1].score == 0.60 + W_DOC2 * 0.1

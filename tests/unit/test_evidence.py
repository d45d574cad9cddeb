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


def test_abstention_needs_a_close_sentence_not_just_an_on_topic_passage():
    from knowledge.abstain import DEFAULT_THRESHOLD, Abstention

    on_topic = Passage(StoredChunk("a", "text", {"path": "a.md"}), score=DEFAULT_THRESHOLD + 0.1,
                       dense=0.5, sentence=DEFAULT_THRESHOLD - 0.1, lexical=0.0)
    answering = Passage(StoredChunk("b", "text", {"path": "b.md"}), score=DEFAULT_THRESHOLD - 0.02,
                        dense=0.3, sentence=DEFAULT_THRESHOLD + 0.05, lexical=0.0)

    assert not Abstention().answerable(evidence(on_topic))
    assert Abstention().answerable(evidence(answering))
    assert Abstention().confidence(Evidence("q", "q", [], np.zeros(3))) == 0.0


def test_a_chunk_decodes_its_sentences_and_packed_vectors_once():
    from knowledge.vectors import pack

    vectors = np.eye(2, 4, dtype=np.float32)
    chunk = StoredChunk("c", "One. Two.", {"sentences": '["One.", "Two."]', "sentence_vectors": pack(vectors)})

    assert chunk.sentences == ["One.", "Two."]
    np.testing.assert_array_equal(chunk.packed("sentence_vectors", 4), vectors)
    assert chunk.packed("sentence_vectors", 4) is chunk.packed("sentence_vectors", 4)  # kept with the cached chunk
    assert chunk.packed("heading_vector", 4).shape == (0, 4)  # an index ingested before headings were embedded
    assert StoredChunk("d", "x", {"sentences": "not json"}).sentences == []

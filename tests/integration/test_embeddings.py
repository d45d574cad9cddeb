"""The embedder: questions asked at once are batched, and each still gets its own vector."""
from __future__ import annotations

import threading

import numpy as np


def test_questions_encoded_from_many_threads_at_once_each_get_their_own_vector(embedder):
    questions = [f"may I paste customer record {i} into Kestrel Copilot?" for i in range(24)]
    expected = embedder.encode(questions)
    got: list = [None] * len(questions)
    start = threading.Barrier(len(questions))

    def ask(i: int) -> None:
        start.wait()
        got[i] = embedder.encode_query(questions[i])

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(questions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    for i, vector in enumerate(got):
        assert np.allclose(vector, expected[i], atol=1e-5), f"question {i} got another question's vector"


def test_prefetched_questions_are_encoded_in_the_batch_of_the_first_one_asked(embedder):
    questions = [f"how long is prefetched record {i} kept?" for i in range(6)]
    expected = embedder.encode(questions)
    for text in questions:
        embedder.prefetch(text)
    queued = [embedder._prefetched[text] for text in questions]

    first = embedder.encode_query(questions[0])

    assert np.allclose(first, expected[0], atol=1e-5)
    assert all(q.vector is not None for q in queued)  # the whole burst went in one batch
    for i, text in enumerate(questions[1:], start=1):
        assert np.allclose(embedder.encode_query(text), expected[i], atol=1e-5)
    assert not set(questions) & set(embedder._prefetched)


def test_prefetched_questions_never_asked_for_are_let_go(embedder, monkeypatch):
    from knowledge import embeddings

    monkeypatch.setattr(embeddings, "PREFETCH_LIMIT", 3)
    for i in range(5):
        embedder.prefetch(f"abandoned question {i}")

    assert list(embedder._prefetched) == [f"abandoned question {i}" for i in (2, 3, 4)]
    assert [q.text for q in embedder._waiting if q.text.startswith("abandoned")] == list(embedder._prefetched)
    assert np.allclose(embedder.encode_query("abandoned question 4"), embedder.encode(["abandoned question 4"])[0],
                       atol=1e-5)


def test_bfloat16_vectors_stay_within_a_rounding_of_float32_and_rank_passages_the_same():
    from knowledge.embeddings import Embedder, default_model_path

    model = default_model_path()
    passages = [
        "Customer personal data must never be pasted into a public AI tool.",
        "Report a suspected leak to the security team within one hour.",
        "The pilot group meets every second Thursday to review feedback.",
        "Approved tools are Kestrel Copilot and the internal chat assistant.",
    ]
    questions = ["may I put client details into ChatGPT?", "what if I leaked something by mistake?",
                 "when does the pilot group meet?", "which AI tools am I allowed to use?"]
    full, half = Embedder(model, precision="float32"), Embedder(model, precision="bfloat16")

    exact, rounded = full.encode(passages + questions), half.encode(passages + questions)
    assert np.min(np.sum(exact * rounded, axis=1)) > 0.999
    assert not np.array_equal(exact, rounded)  # bfloat16 really was used
    # An index built in one precision, searched with questions encoded in the other, ranks as if it were one.
    for question in questions:
        assert list(np.argsort(exact[:4] @ half.encode_query(question))) == \
            list(np.argsort(exact[:4] @ full.encode_query(question)))


def test_a_precision_that_does_not_exist_is_refused():
    import pytest

    from knowledge.embeddings import Embedder

    with pytest.raises(ValueError, match="float16"):
        Embedder(precision="float16")


def test_packed_texts_get_the_vectors_they_get_on_their_own(embedder):
    """Sentences packed several to a row attend only to themselves: the same vectors as one row each."""
    from knowledge.embeddings import Embedder

    exact = Embedder(precision="float32")
    texts = ["", "Yes.", "Badges open the lab.", "Report a suspected leak to security@example.com within one hour.",
             "Customer personal data must never be pasted into a public AI tool such as ChatGPT. " * 30,  # truncated
             *[f"Rule {n}: keys are rotated every {n} days." for n in range(40)]]

    np.testing.assert_allclose(exact.encode_packed(texts), exact.encode(texts), atol=1e-5)
    shipped = embedder.encode_packed(texts)  # in the precision this CPU gets
    assert np.min(np.sum(shipped * exact.encode(texts), axis=1)) > 0.999


def test_a_model_that_is_not_a_plain_mean_pooled_bert_is_not_packed():
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.models import Pooling, Transformer

    from knowledge.embeddings import _Packer, default_model_path

    encoder = Transformer(default_model_path())
    cls_pooled = SentenceTransformer(modules=[encoder, Pooling(encoder.get_embedding_dimension(), "cls")],
                                     device="cpu")
    assert _Packer.of(cls_pooled) is None
    prompted = SentenceTransformer(default_model_path(), device="cpu", local_files_only=True,
                                   prompts={"passage": "passage: "}, default_prompt_name="passage")
    assert _Packer.of(prompted) is None  # its texts are changed before tokenizing
    assert _Packer.of(SentenceTransformer(default_model_path(), device="cpu", local_files_only=True)) is not None


# -- questions encoded without torch (knowledge/query_encoder.py, what `rollout ask` uses) --------------------------
QUERY_ENCODER_TEXTS = [
    "Which AI tools are approved?", "may I paste custmer data into chatgpt??", "and for contractors?", "x", "",
    "Wie melde ich ein Datenleck? Où est la politique ? 日本語の質問 😀", "API key AKIA… leaked — what now?!",
    "Report a suspected leak to the security team within one hour.",
    "Customer personal data must never be pasted into a public AI tool such as ChatGPT. " * 30,  # truncated
]


def test_the_numpy_query_encoder_matches_the_vectors_ingest_stores(embedder):
    from knowledge.embeddings import Embedder, default_model_path
    from knowledge.query_encoder import NumpyEncoder

    light = NumpyEncoder.of(default_model_path()).encode(QUERY_ENCODER_TEXTS)

    ingested = embedder.encode_packed(QUERY_ENCODER_TEXTS)  # as ingest stores them, in this CPU's precision
    assert np.min(np.sum(light * ingested, axis=1)) >= 0.9999
    exact = Embedder(precision="float32").encode(QUERY_ENCODER_TEXTS)  # sentence-transformers as it ships
    assert np.min(np.sum(light * exact, axis=1)) >= 0.99999
    assert np.allclose(np.linalg.norm(light, axis=1), 1.0, atol=1e-5)


def test_a_fresh_process_encodes_questions_without_loading_the_model_until_something_does():
    from knowledge.embeddings import Embedder

    fresh = Embedder()
    before = fresh.encode_query(QUERY_ENCODER_TEXTS[0])
    assert not fresh.loaded  # torch and sentence-transformers were not needed

    fresh.load()  # as ingest, `rollout serve` and `rollout chat` do
    after = fresh.encode_query(QUERY_ENCODER_TEXTS[0])
    assert float(before @ after) >= 0.9999


def test_a_model_of_another_shape_gets_no_numpy_encoder_and_is_loaded_for_questions(tmp_path):
    import shutil

    from knowledge.embeddings import Embedder, default_model_path
    from knowledge.query_encoder import NumpyEncoder

    model = tmp_path / "cls-pooled"
    shutil.copytree(default_model_path(), model)
    pooling = model / "1_Pooling" / "config.json"
    pooling.write_text(pooling.read_text().replace('"pooling_mode_cls_token": false', '"pooling_mode_cls_token": true')
                       .replace('"pooling_mode_mean_tokens": true', '"pooling_mode_mean_tokens": false'))
    assert NumpyEncoder.of(model) is None
    assert NumpyEncoder.of(tmp_path / "missing") is None

    other = Embedder(str(model))
    other.encode_query("which AI tools are approved?")
    assert other.loaded  # encoded by sentence-transformers, with this model's own pooling

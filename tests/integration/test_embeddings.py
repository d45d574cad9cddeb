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

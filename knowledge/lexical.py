"""BM25 lexical index (bm25s) over chunk texts, saved beside the data dir and stamped with a generation."""
from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

STAMP = "generation.json"


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def tokenize(texts: list[str]) -> list[list[str]]:
    """Lower-cased, stop-word-free, stemmed tokens."""
    import bm25s

    return bm25s.tokenize(texts, stopwords="en", stemmer=_stemmer(), show_progress=False, return_ids=False)


class LexicalIndex:
    """BM25 over chunk ids; empty when there is nothing indexed."""

    def __init__(self, ids: list[str], retriever):
        self.ids = ids
        self._retriever = retriever
        self._vocab = set(retriever.vocab_dict) if retriever is not None else set()

    @classmethod
    def build(cls, ids: list[str], texts: list[str]) -> "LexicalIndex":
        import bm25s

        if not ids:
            return cls([], None)
        retriever = bm25s.BM25()
        retriever.index(tokenize(texts), show_progress=False)
        return cls(list(ids), retriever)

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        """Top-k (id, score) with a positive score."""
        if self._retriever is None or k <= 0:
            return []
        tokens = [t for t in tokenize([query])[0] if t in self._vocab]
        if not tokens:
            return []
        scores = self._retriever.get_scores(tokens)
        k = min(k, len(self.ids))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return [(self.ids[i], float(scores[i])) for i in top if scores[i] > 0]

    def save(self, directory: Path, generation: str) -> None:
        """Write the index, then its stamp last, so a half-written index is never loaded."""
        directory.mkdir(parents=True, exist_ok=True)
        stamp = directory / STAMP
        stamp.unlink(missing_ok=True)
        if self._retriever is not None:
            self._retriever.save(str(directory / "bm25"))
        tmp = directory / f".{STAMP}.{os.getpid()}"
        tmp.write_text(json.dumps({"generation": generation, "ids": self.ids}))
        tmp.replace(stamp)

    @classmethod
    def load(cls, directory: Path, generation: str) -> "LexicalIndex | None":
        """The saved index if it was built at this generation, else None."""
        import bm25s

        try:
            stamp = json.loads((directory / STAMP).read_text())
            if stamp.get("generation") != generation:
                return None
            if not stamp["ids"]:
                return cls([], None)
            return cls(stamp["ids"], bm25s.BM25.load(str(directory / "bm25"), mmap=True))
        except (OSError, ValueError, KeyError):
            return None

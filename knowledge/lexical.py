"""BM25 lexical index (bm25s) over chunk texts, saved under the data dir and stamped with a generation. Several
processes (web workers sharing a data dir) may save and load it at once: a save is written aside and swapped in."""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import numpy as np

STAMP = "generation.json"
# Bump when tokenisation changes, so indexes saved by an older version are rebuilt rather than misread.
FORMAT = 4  # 3: each restricted chunk's audiences; 4: the audiences markers declare


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """English stop words, question words and chat filler (knowledge/stopwords.txt)."""
    text = (Path(__file__).parent / "stopwords.txt").read_text(encoding="utf-8")
    return frozenset(w.strip() for w in text.splitlines() if w.strip() and not w.startswith("#"))


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def tokenize(texts: list[str]) -> list[list[str]]:
    """Lower-cased, stop-word-free, stemmed tokens."""
    import bm25s

    return bm25s.tokenize(texts, stopwords=list(stopwords()), stemmer=_stemmer(), show_progress=False,
                          return_ids=False)


class LexicalIndex:
    """BM25 over chunk ids; empty when there is nothing indexed."""

    def __init__(self, ids: list[str], retriever, audiences: dict[str, list[str]] | None = None,
                 declared: list[str] | None = None):
        self.ids = ids
        self.audiences = audiences or {}  # chunk id -> the audiences it is restricted to (knowledge/audiences.py)
        self.declared = frozenset(declared or ())  # the audiences some `<!-- audience: … -->` marker names
        self._retriever = retriever
        self._vocab = set(retriever.vocab_dict) if retriever is not None else set()
        self._row = {cid: i for i, cid in enumerate(ids)}
        self._deletes: dict[str, set[str]] | None = None

    @classmethod
    def build(cls, ids: list[str], texts: list[str], audiences: dict[str, list[str]] | None = None,
              declared: list[str] | None = None) -> "LexicalIndex":
        import bm25s

        if not ids:
            return cls([], None)
        retriever = bm25s.BM25()
        retriever.index(tokenize(texts), show_progress=False)
        return cls(list(ids), retriever, audiences, declared)

    def restricted_names(self) -> frozenset[str]:
        """Every audience some chunk is restricted to."""
        return frozenset(n for names in self.audiences.values() for n in names)

    def within(self, scores: np.ndarray, admits) -> np.ndarray:
        """`scores` with every chunk outside a scope set to 0 (`admits(audiences of a chunk)`, () for general)."""
        if not self.audiences and admits(()):
            return scores
        keep = np.full(len(self.ids), admits(()), dtype=bool)
        for cid, names in self.audiences.items():
            if (row := self._row.get(cid)) is not None:
                keep[row] = admits(tuple(names))
        return np.where(keep, scores, 0).astype(scores.dtype, copy=False)

    def terms(self, query: str) -> list[str]:
        """The query's index terms, a misspelt word replaced by the indexed word one edit away."""
        if self._retriever is None:
            return []
        out = []
        for token in tokenize([query])[0]:
            term = token if token in self._vocab else self._respell(token)
            if term:
                out.append(term)
        return out

    def document_frequency(self, term: str) -> int:
        """How many chunks contain a term."""
        i = self._retriever.vocab_dict.get(term) if self._retriever is not None else None
        if i is None:
            return 0
        indptr = self._retriever.scores["indptr"]
        return int(indptr[i + 1] - indptr[i])

    def prepare_respelling(self) -> None:
        """Build the one-edit respelling index now rather than on the first misspelt question."""
        self._deletion_index()

    def _respell(self, token: str) -> str | None:
        if len(token) < 5:
            return None
        candidates = {t for variant in _deletions(token) | {token} for t in self._deletion_index().get(variant, ())}
        return max(sorted(candidates), key=self.document_frequency, default=None)

    def _deletion_index(self) -> dict[str, set[str]]:
        if self._deletes is None:
            index: dict[str, set[str]] = {}
            for term in self._vocab:
                if len(term) >= 4 and term.isalpha():
                    for variant in _deletions(term) | {term}:
                        index.setdefault(variant, set()).add(term)
            self._deletes = index
        return self._deletes

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk (in `ids` order) for a query."""
        tokens = self.terms(query)
        if not tokens:
            return np.zeros(len(self.ids), dtype=np.float32)
        return np.asarray(self._retriever.get_scores(tokens), dtype=np.float32)

    def search(self, query: str, k: int, scores: np.ndarray | None = None) -> list[tuple[str, float]]:
        """Top-k (id, score) with a positive score."""
        scores = self.scores(query) if scores is None else scores
        k = min(k, len(self.ids))
        if k <= 0 or not scores.any():
            return []
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return [(self.ids[i], float(scores[i])) for i in top if scores[i] > 0]

    def score_of(self, scores: np.ndarray, chunk_id: str) -> float:
        """One chunk's score from a `scores` array (0 for a chunk the index does not hold)."""
        row = self._row.get(chunk_id)
        return 0.0 if row is None else float(scores[row])

    def save(self, directory: Path, generation: str) -> None:
        """Write the index into a folder beside `directory` and swap it in under the lock: a process loading it
        meanwhile gets the old index or this one, whole. Of processes saving at once, each waits its turn; one
        finding this generation already saved keeps that."""
        directory.parent.mkdir(parents=True, exist_ok=True)
        with _locked(directory, fcntl.LOCK_EX):
            if _read_stamp(directory).get("generation") == generation:
                return
            _remove_leftovers(directory)
            staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.staging-", dir=directory.parent))
            try:
                if self._retriever is not None:
                    self._retriever.save(str(staging / "bm25"))
                (staging / STAMP).write_text(json.dumps({
                    "format": FORMAT, "generation": generation, "ids": self.ids, "audiences": self.audiences,
                    "declared": sorted(self.declared)}))
                _swap(staging, directory)
            finally:
                shutil.rmtree(staging, ignore_errors=True)  # left only if writing it failed

    @classmethod
    def load(cls, directory: Path, generation: str) -> "LexicalIndex | None":
        """The saved index if it was built at this generation, else None."""
        import bm25s

        try:
            with _locked(directory, fcntl.LOCK_SH):  # never between a save's two renames
                stamp = _read_stamp(directory)
                if stamp.get("generation") != generation:
                    return None
                if not stamp["ids"]:
                    return cls([], None)
                # Memory-mapped: the files stay readable after a later save moves them aside and deletes them.
                retriever = bm25s.BM25.load(str(directory / "bm25"), mmap=True)
            return cls(stamp["ids"], retriever, stamp.get("audiences"), stamp.get("declared"))
        except (OSError, ValueError, KeyError):
            return None


@contextmanager
def _locked(directory: Path, mode: int) -> Iterator[None]:
    """Hold `mode` (fcntl.LOCK_EX to save, LOCK_SH to load) on the index's lock file beside it, across processes
    and threads. A read-only data dir, where no lock file can be made, has nobody saving into it to wait for."""
    try:
        fd = os.open(directory.parent / f".{directory.name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        if mode == fcntl.LOCK_EX:
            raise
        fd = None
    try:
        if fd is not None:
            fcntl.flock(fd, mode)
        yield
    finally:
        if fd is not None:
            os.close(fd)  # releases the lock


def _read_stamp(directory: Path) -> dict:
    """The saved index's stamp ({} when there is none, or it is from another format)."""
    try:
        stamp = json.loads((directory / STAMP).read_text())
    except (OSError, ValueError):
        return {}
    return stamp if isinstance(stamp, dict) and stamp.get("format") == FORMAT else {}


def _swap(staging: Path, directory: Path) -> None:
    """Put `staging` where `directory` is (two renames, under the save lock; a folder can't be renamed over a
    non-empty one), then delete the old index."""
    aside = directory.with_name(f".{directory.name}.old-{uuid.uuid4().hex}")
    try:
        directory.rename(aside)
    except FileNotFoundError:
        aside = None
    staging.rename(directory)
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)


def _remove_leftovers(directory: Path) -> None:
    """Folders a save interrupted by a crash left beside the index (under the save lock, nobody else's)."""
    for pattern in (f".{directory.name}.staging-*", f".{directory.name}.old-*"):
        for leftover in directory.parent.glob(pattern):
            shutil.rmtree(leftover, ignore_errors=True)


def _deletions(word: str) -> set[str]:
    """Every string one deleted character away (a substitution or transposition shares one with the original)."""
    return {word[:i] + word[i + 1:] for i in range(len(word))}

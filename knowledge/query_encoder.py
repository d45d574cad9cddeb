"""A question's vector without torch: the MiniLM bi-encoder run in numpy, for a process that answers a question or a
few and exits (`rollout ask`).

Importing sentence-transformers (torch and transformers with it) costs seconds of CPU before the first question can be
encoded; one question of a few dozen tokens costs about a millisecond to encode. This runs the same BERT encoder on the
same weights (read with `safetensors`, tokenized with the model's own `tokenizers` file), with the same mean pooling
and normalisation, in float32: its vectors match sentence-transformers' to within rounding (tests/integration/
test_embeddings.py asserts cosine >= 0.9999 against the ingest path). It serves only models of exactly that shape
(`of` gives None for any other), and only short texts: ingest and `rollout serve` keep sentence-transformers.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

SENTENCE_TRANSFORMER_MODULES = ["sentence_transformers.models.Transformer", "sentence_transformers.models.Pooling",
                                "sentence_transformers.models.Normalize"]


class NumpyEncoder:
    """A BERT encoder with mean pooling and normalisation, in numpy (see the module's docstring)."""

    def __init__(self, folder: Path, max_length: int):
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        config = json.loads((folder / "config.json").read_text())
        self.heads, self.eps = config["num_attention_heads"], config["layer_norm_eps"]
        self.layers = config["num_hidden_layers"]
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length)
        weights = load_file(str(folder / "model.safetensors"))
        self.w = {name.removeprefix("bert."): array.astype(np.float32, copy=False) for name, array in weights.items()}

    @classmethod
    def of(cls, folder: str | Path) -> NumpyEncoder | None:
        """The encoder for a sentence-transformers model folder of the MiniLM shape (BERT, mean pooling, normalised,
        a fast tokenizer file, safetensors weights); None for anything else."""
        folder = Path(folder)
        try:
            modules = [m["type"] for m in json.loads((folder / "modules.json").read_text())]
            config = json.loads((folder / "config.json").read_text())
            pooling = json.loads((folder / "1_Pooling" / "config.json").read_text())
            settings = json.loads((folder / "sentence_bert_config.json").read_text())
        except (OSError, ValueError, KeyError, TypeError):
            return None
        mean_only = pooling.get("pooling_mode_mean_tokens") and not any(
            pooling.get(mode) for mode in ("pooling_mode_cls_token", "pooling_mode_max_tokens",
                                           "pooling_mode_mean_sqrt_len_tokens", "pooling_mode_weightedmean_tokens",
                                           "pooling_mode_lasttoken"))
        if (modules != SENTENCE_TRANSFORMER_MODULES or config.get("model_type") != "bert" or not mean_only
                or config.get("hidden_act") != "gelu" or config.get("position_embedding_type", "absolute") != "absolute"
                or settings.get("do_lower_case") or not (folder / "tokenizer.json").is_file()
                or not (folder / "model.safetensors").is_file()):
            return None
        return cls(folder, int(settings.get("max_seq_length") or 256))

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 vectors, one per text (each encoded alone: no padding to get wrong)."""
        return np.vstack([self._encode_one(text) for text in texts]) if texts else np.zeros((0, 0), np.float32)

    def _encode_one(self, text: str) -> np.ndarray:
        w = self.w
        ids = np.asarray(self.tokenizer.encode(text).ids, dtype=np.int64)
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:len(ids)]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = self._norm(x, "embeddings.LayerNorm")
        for layer in range(self.layers):
            x = self._layer(x, f"encoder.layer.{layer}.")
        pooled = x.mean(axis=0)
        return (pooled / max(float(np.linalg.norm(pooled)), 1e-12)).astype(np.float32)

    def _layer(self, x: np.ndarray, p: str) -> np.ndarray:
        tokens, width = x.shape
        size = width // self.heads

        def heads(name: str) -> np.ndarray:  # tokens × width -> heads × tokens × size
            return self._linear(x, p + f"attention.self.{name}").reshape(tokens, self.heads, size).transpose(1, 0, 2)

        q, k, v = heads("query"), heads("key"), heads("value")
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(size)
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        attended = (scores / scores.sum(axis=-1, keepdims=True)) @ v
        attended = attended.transpose(1, 0, 2).reshape(tokens, width)
        x = self._norm(self._linear(attended, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
        hidden = self._linear(x, p + "intermediate.dense")
        hidden = 0.5 * hidden * (1.0 + _erf(hidden / math.sqrt(2.0)))  # BERT's exact gelu
        return self._norm(self._linear(hidden, p + "output.dense") + x, p + "output.LayerNorm")

    def _linear(self, x: np.ndarray, name: str) -> np.ndarray:
        return x @ self.w[name + ".weight"].T + self.w[name + ".bias"]

    def _norm(self, x: np.ndarray, name: str) -> np.ndarray:
        mean = x.mean(axis=-1, keepdims=True)
        variance = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
        return (x - mean) / np.sqrt(variance + self.eps) * self.w[name + ".weight"] + self.w[name + ".bias"]


def _erf(x: np.ndarray) -> np.ndarray:
    """The error function, elementwise: Abramowitz and Stegun 7.1.26 (absolute error under 1.5e-7; numpy has none)."""
    t = 1.0 / (1.0 + 0.3275911 * np.abs(x))
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return np.sign(x) * (1.0 - poly * np.exp(-x * x))

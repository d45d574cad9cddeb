"""The index: chunks in Chroma and a BM25 lexical index kept in step with it.

This is the only module that imports chromadb. Ingest and retrieval reach Chroma through the chromadb client itself
(an embedded `PersistentClient`, or an `HttpClient` for a Chroma server): every read, write and nearest-neighbour
query, and creating the collection (cosine distance). langchain composes with retrieval above this module
(`KnowledgeBase.as_retriever`), never with the collection itself.
Chroma is the source of truth; the lexical index is derived from it and rebuilt whenever the collection's generation
(bumped on every change) differs from the one it was built at.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from knowledge.audiences import AUDIENCES_KEY, audiences_of, declared_by_marker
from knowledge.chunking import embedding_text, own_heading
from knowledge.embeddings import Embedder
from knowledge.errors import ChromaUnreachable, IndexUnavailable
from knowledge.lexical import LexicalIndex
from knowledge.vectors import unpack

log = logging.getLogger(__name__)

COLLECTION = "rollout_chunks"
COLLECTION_CONFIGURATION = {"hnsw": {"space": "cosine"}}
GENERATION_KEY = "rollout_generation"
GENERATION_CHECK_SECONDS = 2.0
# Chunks read for scoring, kept in memory until the collection's generation changes: the same passages answer many
# questions, and a read from Chroma with metadata and vectors is most of retrieval's time after the embedding.
CHUNK_CACHE_SIZE = 2048
UPSERT_BATCH = 256
# Per-chunk payloads only retrieval reads.
HEAVY_METADATA = frozenset({"sentence_vectors", "heading_vector", "sentences", "sentence_sections"})


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as the index holds it: id, body text and metadata (path, title, section, url, file_hash ...)."""

    id: str
    text: str
    metadata: dict

    @property
    def embedding_text(self) -> str:
        """What is embedded and lexically indexed (see chunking.embedding_text)."""
        return embedding_text(self.metadata.get("title", ""), self.metadata.get("section"), self.text)

    @property
    def own_heading(self) -> str:
        """The heading this chunk sits directly under (see chunking.own_heading)."""
        return own_heading(self.metadata.get("title", ""), self.metadata.get("section"))

    # Retrieval reads these for every candidate of every question; a chunk kept in the index's chunk cache decodes
    # them once (they cost ~1.9 ms a question for 60 candidates when decoded each time).
    @cached_property
    def sentences(self) -> list[str]:
        """The chunk's sentences, as ingest split them (stored as JSON in its metadata)."""
        raw = self.metadata.get("sentences")
        if isinstance(raw, str):
            try:
                return list(json.loads(raw))
            except ValueError:
                return []
        return list(raw or [])

    def section_of(self, i: int) -> str | None:
        """The section sentence i sits under: the chunk's, unless a merged short section put it elsewhere."""
        raw = self.metadata.get("sentence_sections")
        if raw:
            labels = self.__dict__.setdefault("_sentence_sections", json.loads(raw) if isinstance(raw, str) else raw)
            if 0 <= i < len(labels):
                return labels[i]
        return self.metadata.get("section") or None

    def packed(self, key: str, dim: int) -> np.ndarray:
        """A matrix packed into the metadata at ingest ("sentence_vectors", "heading_vector"), decoded once."""
        decoded = self.__dict__.setdefault("_decoded", {})  # frozen: the fields stay as they are
        if key not in decoded:
            decoded[key] = unpack(self.metadata.get(key, ""), dim)
        return decoded[key]


def chroma_client(data_dir: Path, chroma_url: str | None):
    """An embedded PersistentClient under the data dir, or an HttpClient when CHROMA_URL is set."""
    os.environ["ANONYMIZED_TELEMETRY"] = "False"
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    try:
        if chroma_url:
            url = urlparse(chroma_url)
            if not url.hostname:
                raise IndexUnavailable(f"CHROMA_URL '{chroma_url}' is not a URL like http://host:8000")
            return chromadb.HttpClient(
                host=url.hostname, port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https", settings=settings,
            )
        path = data_dir / "chroma"
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=settings)
    except IndexUnavailable:
        raise
    except Exception as exc:
        where = chroma_url or str(data_dir / "chroma")
        unavailable = ChromaUnreachable if chroma_url else IndexUnavailable
        raise unavailable(f"cannot open the Chroma index at {where}: {exc}") from exc


class KnowledgeIndex:
    """Dense (Chroma) and lexical (BM25) search over the same chunks."""

    def __init__(self, data_dir: Path, embedder: Embedder, chroma_url: str | None = None,
                 collection: str = COLLECTION):
        self.data_dir = Path(data_dir)
        self.embedder = embedder
        self._client = chroma_client(self.data_dir, chroma_url)
        self._name = collection
        try:
            self._client.get_or_create_collection(name=collection, embedding_function=None, metadata=None,
                                                  configuration=COLLECTION_CONFIGURATION)
        except Exception as exc:
            raise IndexUnavailable(f"cannot open the Chroma collection '{collection}': {exc}") from exc
        self._lexical: LexicalIndex | None = None
        self._lexical_generation: str | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()
        self._chunks: OrderedDict[str, tuple[StoredChunk, np.ndarray]] = OrderedDict()  # see CHUNK_CACHE_SIZE

    # -- reading ---------------------------------------------------------------------------------------------
    @property
    def collection(self):
        return self._client.get_collection(self._name)

    def heartbeat(self) -> None:
        """Raise unless Chroma answers (a server's heartbeat, or the embedded store's collection)."""
        self._client.heartbeat()
        self.collection.count()

    def count(self) -> int:
        return self.collection.count()

    def generation(self) -> str:
        return str((self.collection.metadata or {}).get(GENERATION_KEY, "empty"))

    def all_metadata(self) -> Iterator[tuple[str, dict]]:
        """(id, metadata) of every chunk, page by page, without the packed sentence vectors and sentences.

        Those are most of the metadata's bytes (78 % in the 100k benchmark); listing documents or planning an ingest
        never needs them, and holding them for every chunk at once took a 100k index past 1.6 GB."""
        for page in self._pages(include=["metadatas"]):
            for cid, meta in zip(page["ids"], page["metadatas"]):
                yield cid, {k: v for k, v in (meta or {}).items() if k not in HEAVY_METADATA}

    def _pages(self, include: list[str], size: int = 1000):
        collection, offset = self.collection, 0
        while True:
            page = collection.get(include=include, limit=size, offset=offset)
            if not page["ids"]:
                return
            yield page
            offset += len(page["ids"])

    def get(self, ids: list[str], with_vectors: bool = False) -> dict[str, tuple[StoredChunk, np.ndarray | None]]:
        """Chunks (and optionally their vectors) by id."""
        if not ids:
            return {}
        if with_vectors:
            return self._cached_get(ids)
        return self._read(ids, with_vectors)

    def _read(self, ids: list[str], with_vectors: bool) -> dict[str, tuple[StoredChunk, np.ndarray | None]]:
        include = ["documents", "metadatas"] + (["embeddings"] if with_vectors else [])
        found = self.collection.get(ids=list(ids), include=include)
        vectors = found.get("embeddings") if with_vectors else None
        return {
            cid: (StoredChunk(cid, doc or "", meta or {}), None if vectors is None else np.asarray(vectors[i]))
            for i, (cid, doc, meta) in enumerate(zip(found["ids"], found["documents"], found["metadatas"]))
        }

    def _cached_get(self, ids: list[str]) -> dict[str, tuple[StoredChunk, np.ndarray | None]]:
        """`get` with vectors through the chunk cache (emptied whenever the generation changes)."""
        with self._lock:
            found = {cid: self._chunks[cid] for cid in ids if cid in self._chunks}
            for cid in found:
                self._chunks.move_to_end(cid)
            generation = self._lexical_generation
        missing = [cid for cid in ids if cid not in found]
        if missing:
            read = self._read(missing, with_vectors=True)
            found.update(read)
            with self._lock:
                if generation == self._lexical_generation:  # not from before a change seen meanwhile
                    self._chunks.update(read)
                    while len(self._chunks) > CHUNK_CACHE_SIZE:
                        self._chunks.popitem(last=False)
        return {cid: found[cid] for cid in ids if cid in found}

    def document_chunks(self, path: str) -> list[StoredChunk]:
        """Every chunk of one document (by its indexed path), in no particular order."""
        found = self.collection.get(where={"path": path}, include=["documents", "metadatas"])
        return [StoredChunk(cid, doc or "", meta or {})
                for cid, doc, meta in zip(found["ids"], found["documents"], found["metadatas"])]

    def nearest_ids(self, vector: np.ndarray, k: int, where: dict | None = None) -> list[tuple[str, float]]:
        """Ids and cosine similarities of the k nearest chunks (those matching `where`, e.g. an audience scope),
        without their text or metadata.

        Retrieval scores its candidates from a second, exact read, so the search itself need not carry each chunk's
        metadata (its packed sentence vectors): asking Chroma for distances only is ~4x faster at 10k chunks."""
        if k <= 0:
            return []
        found = self.collection.query(query_embeddings=[vector.tolist()], n_results=k, include=["distances"],
                                      where=where)
        return [(cid, 1.0 - float(dist)) for cid, dist in zip(found["ids"][0], found["distances"][0])]

    def lexical_search(self, query: str, k: int) -> list[tuple[str, float]]:
        """Top-k chunk ids by BM25 score."""
        return self.lexical().search(query, k)

    def lexical(self) -> LexicalIndex:
        """The lexical index, rebuilt if Chroma changed since it was built (checked every few seconds)."""
        with self._lock:
            now = time.monotonic()
            if self._lexical is not None and now - self._checked_at < GENERATION_CHECK_SECONDS:
                return self._lexical
            self._checked_at = now
            generation = self.generation()
            if self._lexical is None or generation != self._lexical_generation:
                self._chunks.clear()
                self._lexical = self._load_or_build_lexical(generation)
                self._lexical_generation = generation
            return self._lexical

    def _lexical_dir(self) -> Path:
        return self.data_dir / "lexical" / self._name

    def _load_or_build_lexical(self, generation: str) -> LexicalIndex:
        directory = self._lexical_dir()
        loaded = LexicalIndex.load(directory, generation)
        if loaded is not None:
            return loaded
        ids, texts, audiences, declared = [], [], {}, set()
        for page in self._pages(include=["documents", "metadatas"]):
            for cid, doc, meta in zip(page["ids"], page["documents"], page["metadatas"]):
                ids.append(cid)
                texts.append(StoredChunk(cid, doc or "", meta or {}).embedding_text)
                if names := audiences_of(meta or {}):
                    audiences[cid] = list(names)
                declared.update(declared_by_marker(meta or {}))
        index = LexicalIndex.build(ids, texts, audiences, sorted(declared))
        try:
            index.save(directory, generation)
        except OSError as exc:  # a read-only data dir still answers, from memory
            log.warning("could not save the lexical index under %s: %s", directory, exc)
        return index

    # -- writing ---------------------------------------------------------------------------------------------
    def upsert(self, chunks: list[StoredChunk], vectors: np.ndarray) -> None:
        """Add or replace chunks with precomputed vectors."""
        collection = self.collection
        for start in range(0, len(chunks), UPSERT_BATCH):
            batch = chunks[start:start + UPSERT_BATCH]
            collection.upsert(
                ids=[c.id for c in batch], documents=[c.text for c in batch],
                metadatas=[_clean_metadata(c.metadata) for c in batch],
                embeddings=vectors[start:start + UPSERT_BATCH],
            )

    def delete(self, ids: list[str]) -> None:
        for start in range(0, len(ids), UPSERT_BATCH):
            self.collection.delete(ids=ids[start:start + UPSERT_BATCH])

    def bump_generation(self) -> str:
        """Record that the collection changed, so every lexical index (here and elsewhere) rebuilds."""
        generation = uuid.uuid4().hex
        collection = self.collection
        metadata = dict(collection.metadata or {})
        metadata[GENERATION_KEY] = generation
        collection.modify(metadata=metadata)
        with self._lock:
            self._checked_at = 0.0
            self._chunks.clear()
        return generation

    def rebuild_lexical(self) -> None:
        """Rebuild the lexical index now (after an ingest), instead of on the next question."""
        shutil.rmtree(self._lexical_dir(), ignore_errors=True)
        with self._lock:
            self._checked_at = 0.0
        self.lexical()


def _clean_metadata(metadata: dict) -> dict:
    """Chroma metadata values must be str/int/float/bool; drop None and serialise the rest."""
    out = {}
    for key, value in metadata.items():
        if value is None:
            continue
        if key == AUDIENCES_KEY:  # a real list, for `where` filters with $contains
            out[key] = [str(v) for v in value]
            continue
        out[key] = value if isinstance(value, (str, int, float, bool)) else json.dumps(value, default=str)
    return out

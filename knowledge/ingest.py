"""Ingest: load -> chunk -> embed -> upsert, idempotent by content hash.

An unchanged file adds nothing; a changed file replaces its chunks (only new chunk texts are embedded); a file that
cannot be read is named in a warning and its previously indexed chunks are kept. `prune` removes documents whose
file is gone.

Every section a run changes or removes is reported (`IngestSummary.section_changes`) and handed to `on_changes` before
the index is touched: a recall can then be recorded first, so no crash between the two can lose one.
"""
from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np

from knowledge.audiences import audience_names, chunk_audience_metadata
from knowledge.chunking import DEFAULT_MAX_CHARS, Chunk, about_chunk, chunk_document, split_sentences
from knowledge.errors import UnreadableDocument
from knowledge.index import KnowledgeIndex, StoredChunk
from knowledge.loaders import LoadedDocument, load, supported
from knowledge.sections import SectionChange, document_changes
from knowledge.vectors import pack

CHUNKER_VERSION = "16"  # 15: audiences (knowledge/audiences.py); 16: which come from a marker
EMBED_BATCH = 256
VECTOR_KEYS = {"sentence_vectors", "heading_vector"}  # packed into each chunk's metadata at ingest


@dataclass
class IngestSummary:
    """What one ingest run did."""

    new: int = 0
    changed: int = 0
    unchanged: int = 0
    removed: int = 0
    failed: int = 0
    chunks_added: int = 0
    chunks_removed: int = 0
    chunks_total: int = 0
    warnings: list[str] = field(default_factory=list)
    section_changes: list[SectionChange] = field(default_factory=list)  # sections changed or removed by this run

    @property
    def files_read(self) -> int:
        return self.new + self.changed + self.unchanged

    def line(self) -> str:
        return (f"files: {self.new} new, {self.changed} changed, {self.unchanged} unchanged, {self.removed} removed, "
                f"{self.failed} skipped; chunks: +{self.chunks_added} -{self.chunks_removed}, "
                f"{self.chunks_total} indexed")


@dataclass(frozen=True)
class SourceFile:
    """A file found under an ingested root, with the key it is indexed under."""

    origin: Path
    key: str


def discover(paths: list[Path], warn: Callable[[str], None]) -> list[SourceFile]:
    """Every file under the given paths (folders recursively), keyed relative to the folder given."""
    found: dict[str, SourceFile] = {}
    for root in paths:
        if root.is_file():
            candidates = [(root, root.name)]
        elif root.is_dir():
            candidates = [(p, p.relative_to(root).as_posix()) for p in sorted(root.rglob("*"))
                          if _is_file_or_dangling(p)
                          and not any(part.startswith(".") for part in p.relative_to(root).parts)]
            candidates = [(p, key) for p, key in candidates if _inside(p, root, warn)]
        else:
            warn(f"{root}: no such file or folder")
            continue
        for origin, key in candidates:
            if not supported(origin):
                warn(f"{origin}: skipped, unsupported file type '{origin.suffix or '(none)'}'")
                continue
            source = SourceFile(origin.absolute(), key)  # not resolve(): warnings name the file as the user sees it
            taken = found.setdefault(key, source)
            if taken.origin.resolve() != source.origin.resolve():  # one name under two folders given in one run
                warn(f"{origin}: skipped, '{key}' is already taken by {taken.origin} in this run; rename one, or "
                     f"ingest the folder that holds both")
    return list(found.values())


def _inside(path: Path, root: Path, warn: Callable[[str], None]) -> bool:
    """Whether a file found under a folder really lives there: a link out of the folder given is not followed."""
    if not path.exists() or path.resolve().is_relative_to(root.resolve()):
        return True
    warn(f"{path}: skipped, it links outside {root}")
    return False


def _is_file_or_dangling(path: Path) -> bool:
    """A file, or a symlink to nothing (warned about when read, rather than silently left out)."""
    return path.is_file() or (path.is_symlink() and not path.exists())


def file_hash(data: bytes, max_chars: int) -> str:
    """Content hash of a file, salted with what shapes its chunks (so a chunker change re-indexes)."""
    return hashlib.sha256(f"{CHUNKER_VERSION}:{max_chars}:".encode() + data).hexdigest()


def chunk_records(source: SourceFile, doc: LoadedDocument, digest: str, max_chars: int) -> list[StoredChunk]:
    """Chunks of one document with the metadata every citation needs."""
    indexed_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    base = {
        "path": source.key, "origin": str(source.origin), "title": doc.title, "url": doc.url,
        "file_hash": digest, "indexed_at": indexed_at,
        "owner": _text(doc.metadata.get("owner")), "effective_date": _text(doc.metadata.get("effective_date")),
    }
    audiences = audience_names(doc.metadata.get("audience"))
    chunks = chunk_document(source.key, doc.title, doc.text, max_chars, audiences)
    about = about_chunk(source.key, doc.title, doc.metadata, len(chunks))
    about = replace(about, audiences=audiences) if about else None
    return [_stored(chunk, base) for chunk in [*chunks, *([about] if about else [])]]


def _stored(chunk: Chunk, base: dict) -> StoredChunk:
    meta = dict(base, section=chunk.section, ordinal=chunk.ordinal, sentences=split_sentences(chunk.text),
                **chunk_audience_metadata(chunk.audiences, chunk.marked))
    if chunk.sentence_sections:
        meta["sentence_sections"] = list(chunk.sentence_sections)
    return StoredChunk(chunk.id, chunk.text, meta)


def _text(value) -> str | None:
    return None if value is None else str(value)


def _warn_on_stderr(message: str) -> None:
    """A warning on stderr, above any progress bar rather than through it."""
    from tqdm import tqdm

    tqdm.write(f"warning: {message}", file=sys.stderr)


class Ingestor:
    """Brings the index in step with a set of files."""

    def __init__(self, index: KnowledgeIndex, max_chars: int = DEFAULT_MAX_CHARS,
                 warn: Callable[[str], None] | None = None, progress: bool | None = None,
                 on_changes: Callable[[list[SectionChange]], None] | None = None):
        self.index = index
        self.on_changes = on_changes
        self.max_chars = max_chars
        self.warn = warn or _warn_on_stderr
        # Progress bars on stderr: None shows them when stderr is a terminal (tqdm's disable=None), else as told.
        self.progress = progress

    def run(self, paths: list[Path], prune: bool = False) -> IngestSummary:
        summary = IngestSummary()
        warn = self._warner(summary)
        indexed = self._indexed_documents()

        def skip(message: str) -> None:
            summary.failed += 1
            warn(message)

        files = discover(paths, skip)
        to_add: list[StoredChunk] = []
        to_delete: list[str] = []
        for source in self._bar(files, desc="reading", unit="file"):
            self._plan_file(source, indexed.get(source.key), summary, to_add, to_delete, warn)
        if prune:
            self._plan_prune(indexed, {f.key for f in files}, summary, to_delete)
        if self.on_changes is not None and summary.section_changes:
            self.on_changes(summary.section_changes)  # raises: the index stays as it was
        self._apply(to_add, to_delete)
        summary.chunks_removed = len(to_delete)
        summary.chunks_total = self.index.count()
        return summary

    def _warner(self, summary: IngestSummary) -> Callable[[str], None]:
        def warn(message: str) -> None:
            summary.warnings.append(message)
            self.warn(message)
        return warn

    def _indexed_documents(self) -> dict[str, dict]:
        documents: dict[str, dict] = {}
        for cid, meta in self.index.all_metadata():
            doc = documents.setdefault(meta.get("path", ""), {"hash": meta.get("file_hash"), "ids": set(),
                                                               "origin": meta.get("origin"),
                                                               "title": meta.get("title", "")})
            doc["ids"].add(cid)
        return documents

    def _plan_file(self, source: SourceFile, known: dict | None, summary: IngestSummary,
                   to_add: list[StoredChunk], to_delete: list[str], warn: Callable[[str], None]) -> None:
        try:
            digest = file_hash(source.origin.read_bytes(), self.max_chars)
            if known and known["hash"] == digest:
                summary.unchanged += 1
                return
            records = chunk_records(source, load(source.origin), digest, self.max_chars)
        except UnreadableDocument as exc:
            summary.failed += 1
            warn(f"{exc}; skipped" + (" (its indexed version is kept)" if known else ""))
            return
        except OSError as exc:
            summary.failed += 1
            warn(f"{source.origin}: cannot be read ({exc.strerror or exc}); skipped")
            return
        old_ids = known["ids"] if known else set()
        new_ids = {r.id for r in records}
        to_add.extend(records)  # metadata (hash, time) changes even where the text does not
        to_delete.extend(sorted(old_ids - new_ids))
        summary.chunks_added += len(new_ids - old_ids)
        if known and old_ids != new_ids:
            summary.section_changes += self._changes(source.key, known, records)
        if known:
            summary.changed += 1
        else:
            summary.new += 1

    def _plan_prune(self, indexed: dict[str, dict], seen: set[str], summary: IngestSummary,
                    to_delete: list[str]) -> None:
        for key, doc in indexed.items():
            origin = doc.get("origin")
            if key not in seen and (not origin or not Path(origin).exists()):
                summary.removed += 1
                to_delete.extend(sorted(doc["ids"]))
                summary.section_changes += self._changes(key, doc, None)

    def _changes(self, key: str, known: dict, records: list[StoredChunk] | None) -> list[SectionChange]:
        """The sections of a document that this run changes (records: its new chunks) or removes (None)."""
        before = [chunk for chunk, _ in self.index.get(sorted(known["ids"])).values()]
        return document_changes(key, known.get("title") or key, before, records)

    def _bar(self, iterable=None, **options):
        """A tqdm progress bar on stderr, shown as `progress` says (see __init__)."""
        from tqdm import tqdm

        disable = None if self.progress is None else not self.progress
        return tqdm(iterable, file=sys.stderr, disable=disable, dynamic_ncols=True, leave=True, **options)

    def _apply(self, to_add: list[StoredChunk], to_delete: list[str]) -> None:
        if not to_add and not to_delete:
            return
        records, vectors = [], None
        if to_add:
            known = self.index.get([r.id for r in to_add], with_vectors=True)
            records, vectors = self._embedded(to_add, known)
        with self._bar(total=3, desc="saving", unit="step") as bar:
            if records:
                self.index.upsert(records, vectors)
            bar.update()
            if to_delete:
                self.index.delete(to_delete)
            self.index.bump_generation()
            bar.update()
            self.index.rebuild_lexical()
            bar.update()

    def _embedded(self, records: list[StoredChunk], known: dict) -> tuple[list[StoredChunk], np.ndarray]:
        """Chunk vectors, with the vectors of its sentences and of its own heading packed into its metadata; reused
        where the chunk is already embedded."""
        fresh = [r for r in records if known.get(r.id, (None, None))[1] is None
                 or not VECTOR_KEYS <= known[r.id][0].metadata.keys()]
        headings = list(dict.fromkeys(r.own_heading for r in fresh))
        texts = [r.embedding_text for r in fresh] + headings
        for record in fresh:
            texts.extend(record.metadata["sentences"])
        encoded = iter(self._encode(texts))
        chunk_vectors = {r.id: next(encoded) for r in fresh}
        heading_vectors = {heading: next(encoded) for heading in headings}
        sentence_vectors = {r.id: [next(encoded) for _ in r.metadata["sentences"]] for r in fresh}
        out, rows = [], []
        for record in records:
            if record.id in chunk_vectors:
                sentences = sentence_vectors[record.id]
                packed = {"sentence_vectors": pack(np.vstack(sentences)) if sentences else "",
                          "heading_vector": pack(heading_vectors[record.own_heading][None, :])}
                rows.append(chunk_vectors[record.id])
            else:
                stored, vector = known[record.id]
                packed = {key: stored.metadata[key] for key in VECTOR_KEYS}
                rows.append(vector)
            out.append(StoredChunk(record.id, record.text, dict(record.metadata, **packed)))
        return out, np.vstack(rows).astype(np.float32)

    def _encode(self, texts: list[str]) -> np.ndarray:
        """One vector per text; a text that comes again (a sentence every policy repeats) is encoded once."""
        distinct = list(dict.fromkeys(texts))
        if len(distinct) == len(texts):
            return self._encode_distinct(texts)
        position = {text: i for i, text in enumerate(distinct)}
        return self._encode_distinct(distinct)[[position[text] for text in texts]]

    def _encode_distinct(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        with self._bar(total=len(texts), unit="text", desc="embedding") as bar:
            if not self.index.embedder.loaded:
                bar.set_postfix_str("loading the model")  # several seconds: importing torch, reading the weights
                self.index.embedder.load()
                bar.set_postfix_str("", refresh=False)
                bar.reset()  # the rate shown is the embedding's, not the load's
            return self._encode_sorted(texts, bar)

    def _encode_sorted(self, texts: list[str], bar) -> np.ndarray:
        """Vectors of distinct texts, the bar moved on as each slice is encoded."""
        # Longest first, so each slice (and each batch sentence-transformers cuts from it) holds texts of like length:
        # slices in document order mixed chunks with sentences, and padding cost ~7% of the encode (BENCHMARKS.md).
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        vectors: np.ndarray | None = None
        for start in range(0, len(order), EMBED_BATCH):
            picked = order[start:start + EMBED_BATCH]
            encoded = self.index.embedder.encode_packed([texts[i] for i in picked])
            if vectors is None:
                vectors = np.empty((len(texts), encoded.shape[1]), dtype=np.float32)
            vectors[picked] = encoded
            bar.update(len(picked))
        return vectors

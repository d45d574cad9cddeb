"""Synthetic policy corpora of a chosen size, grown from a real one.

Variant 0 is the real corpus, unchanged and at its own paths (so real questions still have their real answers).
Every further variant is the whole corpus again as another company wrote it: its own name for the organisation (and
in "this policy", "all staff"), its own chat, file-sharing and password tools, British or American spelling; sections
shuffled, paragraphs shuffled within each section, list items shuffled and prose sentences rotated. Nothing is
paraphrased, so chunks keep the length, vocabulary and sentence counts of real policy text, while chunk boundaries and
texts differ between variants. Every chunk's embedded text is distinct (its title names the company); at 10k chunks
about 87% of chunk bodies are (the rest are passages no transformation reaches, like boilerplate copied between
companies).
"""
from __future__ import annotations

import hashlib
import json
import random
import re
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import yaml

from bench import RESULTS, load_average
from knowledge.chunking import DEFAULT_MAX_CHARS, chunk_document, split_sentences
from knowledge.index import StoredChunk
from knowledge.ingest import CHUNKER_VERSION, SourceFile, chunk_records, file_hash
from knowledge.loaders import LoadedDocument, load, split_front_matter

# Bump when the generator changes what it writes, so cached indexes built from older corpora are not reused.
GENERATOR_VERSION = 1

_PREFIXES = ["Kestrel", "Northwind", "Bluefin", "Harbor", "Juniper", "Quarry", "Summit", "Tidewater", "Copperleaf",
             "Granite", "Larkspur", "Meridian", "Oakhurst", "Pinecrest", "Redwood", "Silverline", "Thornbury",
             "Westmoor", "Alder", "Brightwater"]
_SUFFIXES = ["Systems", "Labs", "Health", "Logistics", "Financial", "Energy", "Media", "Robotics", "Foods", "Legal"]
# Who the real documents name as "the organisation"; each variant names its own company instead.
_ORGANISATIONS = re.compile(r"\{\{company(?:Short|Full)Name\}\}|\b(?:GSA|TTS|GitHub|GitLab|CivicActions|18F)\b"
                            r"|\b(?:the|our) (?:organi[sz]ation|[Cc]ompany)\b")
# Companies use different tools and spell differently: each variant picks its own (a name for a name, nothing more).
_HOUSE_STYLE = [
    (re.compile(r"\bSlack\b"), ["Slack", "Microsoft Teams", "Mattermost", "Google Chat"]),
    (re.compile(r"\bGoogle (?:Drive|Docs)\b"), ["Google Drive", "SharePoint", "Box", "Dropbox"]),
    (re.compile(r"\bLastPass\b"), ["LastPass", "1Password", "Bitwarden", "Dashlane"]),
]
# Where a company names itself in its own documents ("this Kestrel Systems policy", "all Kestrel Systems staff").
_SELF_REFERENCE = re.compile(
    r"\b((?:[Tt]his|[Oo]ur) (?=(?:policy|policies|document|procedure|plan|handbook|guide|standard)\b)"
    r"|(?:[Aa]ll|[Ee]very|[Ee]ach) (?=(?:employees?|staff|contractors?|users?|personnel)\b))")
_AMERICAN = re.compile(r"\b(\w{4,})iz(e|es|ed|ing|ation|ations)\b")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)]|\(?[a-z][.)])\s", re.MULTILINE)
_HEADING = re.compile(r"^(#{1,6})\s", re.MULTILINE)


@dataclass(frozen=True)
class CorpusSpec:
    """What to generate: at least `chunks` chunks grown from the documents under `source`."""

    source: Path
    chunks: int
    seed: int = 0
    max_chars: int = DEFAULT_MAX_CHARS

    def key(self) -> str:
        """A short id for everything that shapes the corpus and its chunks (for caching built indexes)."""
        digest = hashlib.sha256()
        for path in sorted(self.source.rglob("*.md")):
            digest.update(path.relative_to(self.source).as_posix().encode() + b"\0" + path.read_bytes())
        params = f"g{GENERATOR_VERSION}-c{CHUNKER_VERSION}-n{self.chunks}-s{self.seed}-m{self.max_chars}"
        return f"{params}-{digest.hexdigest()[:10]}"


@dataclass(frozen=True)
class GeneratedDocument:
    """One generated Markdown file: where it goes and what it says."""

    key: str
    markdown: str
    title: str

    def loaded(self) -> LoadedDocument:
        """The document as the Markdown loader reads it."""
        body, metadata = split_front_matter(self.markdown)
        return LoadedDocument(text=body.replace("\r\n", "\n"), title=self.title, metadata=metadata)


def company(variant: int, seed: int) -> str:
    """The fictional company that wrote a variant."""
    names = [f"{p} {s}" for p in _PREFIXES for s in _SUFFIXES]
    random.Random(seed).shuffle(names)
    return names[(variant - 1) % len(names)]


def documents(spec: CorpusSpec) -> Iterator[tuple[GeneratedDocument, int]]:
    """Generated documents with their chunk counts, until the corpus holds at least `spec.chunks` chunks."""
    originals = [(p.relative_to(spec.source).as_posix(), p.read_text(encoding="utf-8"), load(p))
                 for p in sorted(spec.source.rglob("*.md"))]
    total, variant = 0, 0
    while total < spec.chunks:
        rng = random.Random(f"{spec.seed}:{variant}")
        for key, raw, doc in originals:
            generated = (GeneratedDocument(key, raw, doc.title) if variant == 0
                         else _variant(key, doc, variant, spec.seed, rng))
            loaded = generated.loaded()
            count = len(chunk_document(generated.key, loaded.title, loaded.text, spec.max_chars))
            yield generated, count
            total += count
            if total >= spec.chunks:
                return
        variant += 1


def write(spec: CorpusSpec, directory: Path) -> int:
    """Write the corpus as Markdown files under a directory; the number of chunks it will be indexed as."""
    total = 0
    for doc, count in documents(spec):
        path = directory / doc.key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(doc.markdown, encoding="utf-8")
        total += count
    return total


def stored_chunks(spec: CorpusSpec, directory: Path) -> Iterator[StoredChunk]:
    """The corpus's chunks with the metadata ingest would give them (without their vectors), file by file."""
    for doc, _ in documents(spec):
        source = SourceFile(directory / doc.key, doc.key)
        yield from chunk_records(source, doc.loaded(), file_hash(doc.markdown.encode(), spec.max_chars),
                                 spec.max_chars)


def _variant(key: str, doc: LoadedDocument, variant: int, seed: int, rng: random.Random) -> GeneratedDocument:
    name = company(variant, seed)
    slug = name.lower().replace(" ", "-")
    body = _ORGANISATIONS.sub(name, doc.text)
    body = _house_style(_SELF_REFERENCE.sub(lambda m: f"{m.group(1)}{name} ", body), variant)
    preamble, *sections = _sections(body)
    rng.shuffle(sections)
    body = "\n\n".join(_shuffled(block, rng) for section in [preamble, *sections] for block in section)
    title = _ORGANISATIONS.sub(name, doc.title)
    title = title if name in title else f"{name} {title}"
    return GeneratedDocument(f"variants/v{variant:03d}-{slug}/{key}", _markdown({"title": title}, body), title)


def _house_style(text: str, variant: int) -> str:
    """The variant's own tool names, and British spelling in every other variant."""
    choice = variant
    for pattern, names in _HOUSE_STYLE:
        text = pattern.sub(names[choice % len(names)], text)
        choice //= len(names)
    return _AMERICAN.sub(r"\1is\2", text) if variant % 2 else text


def _sections(body: str) -> list[list[str]]:
    """The blocks (heading + own text) before the first repeated top-level heading, then each such section's."""
    headings = list(_HEADING.finditer(body))
    levels = [len(m.group(1)) for m in headings]
    top = min((level for level in set(levels) if levels.count(level) > 1), default=0)
    bounds = [0, *(m.start() for m in headings), len(body)]
    sections: list[list[str]] = [[]]
    for start, end, level in zip(bounds, bounds[1:], [0, *levels]):
        if level and level <= top:
            sections.append([])
        sections[-1].append(body[start:end].strip("\n"))
    return sections


def _shuffled(block: str, rng: random.Random) -> str:
    """A block's paragraphs in a new order (its heading first), each rotated; one with a code fence as it is."""
    if "```" in block or "~~~" in block:  # shuffling would split the fence
        return block
    paragraphs = [p for p in re.split(r"\n\s*\n", block) if p.strip()]
    head = [paragraphs.pop(0)] if paragraphs and _HEADING.match(paragraphs[0]) else []
    rng.shuffle(paragraphs)
    return "\n\n".join(head + [_rotated(p, rng) for p in paragraphs])


def _rotated(paragraph: str, rng: random.Random) -> str:
    """A list's items shuffled (its lead-in line first); prose's sentences rotated; headings and tables as they are."""
    if _HEADING.match(paragraph) or "|" in paragraph:
        return paragraph
    items = _LIST_ITEM.split(paragraph)
    if len(items) > 2:
        markers = _LIST_ITEM.findall(paragraph)
        body = list(zip(markers, items[1:]))
        rng.shuffle(body)
        return items[0] + "".join(marker + item.rstrip() + "\n" for marker, item in body)
    sentences = split_sentences(paragraph)
    turn = rng.randrange(len(sentences)) if len(sentences) > 1 else 0
    return " ".join(sentences[turn:] + sentences[:turn])


def _markdown(metadata: dict, body: str) -> str:
    front = yaml.safe_dump(metadata, sort_keys=False, allow_unicode=True).strip()
    return f"---\n{front}\n---\n\n{body.strip()}\n"


# -- cached indexes of generated corpora -----------------------------------------------------------------------------
def encoded_index(spec: CorpusSpec, rebuild: bool = False) -> tuple[Path, dict]:
    """A data dir holding the corpus ingested the normal way (real embeddings), built once per spec."""
    from knowledge.base import KnowledgeBase

    directory = RESULTS / f"index-{spec.key()}"
    if (directory / "built.json").exists() and not rebuild:
        return directory / "data", json.loads((directory / "built.json").read_text())
    shutil.rmtree(directory, ignore_errors=True)
    expected = write(spec, directory / "corpus")
    print(f"building a {expected:,}-chunk index under {directory} (encodes every chunk and sentence; minutes)",
          file=sys.stderr, flush=True)
    started, load = time.perf_counter(), load_average()
    summary = KnowledgeBase.open(directory / "data").ingest([directory / "corpus"])
    built = {"chunks": summary.chunks_total, "seconds": round(time.perf_counter() - started, 1),
             "load_average_at_start": load, "summary": summary.line()}
    (directory / "built.json").write_text(json.dumps(built))  # last: its presence means the index is complete
    return directory / "data", built


def random_vector_index(spec: CorpusSpec, rebuild: bool = False) -> tuple[Path, dict]:
    """A data dir holding the corpus's chunks with deterministic pseudo-random unit vectors (nothing encoded)."""
    from knowledge.embeddings import shared_embedder
    from knowledge.index import KnowledgeIndex

    directory = RESULTS / f"index-random-{spec.key()}"
    if (directory / "built.json").exists() and not rebuild:
        return directory / "data", json.loads((directory / "built.json").read_text())
    shutil.rmtree(directory, ignore_errors=True)
    print(f"building a {spec.chunks:,}-chunk index with random vectors under {directory}", file=sys.stderr, flush=True)
    started, load = time.perf_counter(), load_average()
    index = KnowledgeIndex(directory / "data", shared_embedder())
    dim = len(index.embedder.encode(["dimension"])[0])
    rng, batch = np.random.default_rng(spec.seed), []
    for chunk in stored_chunks(spec, directory / "corpus"):
        batch.append(chunk)
        if len(batch) == 2048:
            _upsert_random(index, batch, rng, dim)
            batch = []
    _upsert_random(index, batch, rng, dim)
    index.bump_generation()
    index.rebuild_lexical()
    built = {"chunks": index.count(), "seconds": round(time.perf_counter() - started, 1),
             "load_average_at_start": load}
    (directory / "built.json").write_text(json.dumps(built))
    return directory / "data", built


def _upsert_random(index, chunks: list, rng: np.random.Generator, dim: int) -> None:
    """Upsert chunks with random unit vectors, each sentence and heading vector a noisy copy of its chunk's (as real
    ones are)."""
    from knowledge.vectors import pack

    if not chunks:
        return
    vectors = _unit(rng.standard_normal((len(chunks), dim)))
    records = []
    for chunk, vector in zip(chunks, vectors):
        sentences = _unit(vector + 0.8 * _unit(rng.standard_normal((len(chunk.metadata["sentences"]), dim))))
        heading = _unit(vector + 0.8 * _unit(rng.standard_normal((1, dim))))
        meta = dict(chunk.metadata, sentence_vectors=pack(sentences) if len(sentences) else "",
                    heading_vector=pack(heading))
        records.append(StoredChunk(chunk.id, chunk.text, meta))
    index.upsert(records, vectors.astype(np.float32))


def _unit(matrix: np.ndarray) -> np.ndarray:
    return matrix / np.linalg.norm(matrix, axis=-1, keepdims=True)

"""Integration fixtures: the real MiniLM model (loaded once per session), real Chroma, real files of every format."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from knowledge.answer import make_answerer  # noqa: E402
from knowledge.base import KnowledgeBase  # noqa: E402
from knowledge.embeddings import Embedder, shared_embedder  # noqa: E402
from knowledge.index import KnowledgeIndex  # noqa: E402
from tests.documents import write_docx, write_html, write_markdown, write_pdf, write_text  # noqa: E402

# One distinctive, made-up word per format, so a search can only be answered by that file.
FORMAT_FACTS = {
    "handbook.md": ("zephyrine", "Kestrel Copilot is approved; the zephyrine review board signs off new tools."),
    "notes.txt": ("quillfeather", "Prompts with quillfeather data must be redacted before they leave the laptop."),
    "page.html": ("marrowlight", "The marrowlight register lists every model the security team has assessed."),
    "guide.pdf": ("thistledown", "Leaks are reported to the thistledown desk within one hour of discovery."),
    "memo.docx": ("brackenfold", "Every manager books the brackenfold workshop before the end of March."),
}
FORMAT_TITLES = {
    "handbook.md": "Acceptable Use Handbook",
    "notes.txt": "Notes",
    "page.html": "Model Register",
    "guide.pdf": "Incident Guide",
    "memo.docx": "Training Memo",
}


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real all-MiniLM-L6-v2 model, loaded once for the whole session."""
    return shared_embedder()


@pytest.fixture
def open_kb(tmp_path: Path, embedder: Embedder):
    """Open a KnowledgeBase on embedded Chroma under a data dir (default: one per test)."""

    def open_(data_dir: Path = tmp_path / "data", chroma_url: str | None = None,
              collection: str | None = None) -> KnowledgeBase:
        extra = {"collection": collection} if collection else {}
        return KnowledgeBase(KnowledgeIndex(data_dir, embedder, chroma_url, **extra), make_answerer("extractive"))

    return open_


def write_every_format(folder: Path) -> Path:
    """One small policy document per supported format, each carrying its own fact."""
    folder.mkdir(parents=True, exist_ok=True)
    write_markdown(folder / "handbook.md", FORMAT_TITLES["handbook.md"],
                   {"Approved tools": FORMAT_FACTS["handbook.md"][1]}, owner="Legal", effective_date="2027-01-11")
    write_text(folder / "notes.txt", [FORMAT_FACTS["notes.txt"][1]])
    write_html(folder / "page.html", FORMAT_TITLES["page.html"], {"Assessed models": FORMAT_FACTS["page.html"][1]})
    write_pdf(folder / "guide.pdf", FORMAT_TITLES["guide.pdf"], {"Reporting": FORMAT_FACTS["guide.pdf"][1]})
    write_docx(folder / "memo.docx", FORMAT_TITLES["memo.docx"], {"Workshops": FORMAT_FACTS["memo.docx"][1]})
    return folder


def ingest(kb: KnowledgeBase, *paths: Path, prune: bool = False):
    """Ingest quietly (warnings are kept on the summary) and without a progress bar."""
    return kb.ingest(list(paths), prune=prune, warn=lambda _message: None, progress=False)


def ids_by_path(kb: KnowledgeBase) -> dict[str, set[str]]:
    """The chunk ids in the index, by document path."""
    out: dict[str, set[str]] = {}
    for cid, meta in kb.index.all_metadata():
        out.setdefault(meta["path"], set()).add(cid)
    return out


def lexical_paths(kb: KnowledgeBase, word: str) -> list[str]:
    """Document paths of the BM25 hits for a word, best first."""
    hits = kb.index.lexical_search(word, 5)
    found = kb.index.get([cid for cid, _ in hits])
    return [found[cid][0].metadata["path"] for cid, _ in hits]


@pytest.fixture
def every_format(tmp_path: Path) -> Path:
    """A folder holding one real file of each supported format."""
    return write_every_format(tmp_path / "policies")

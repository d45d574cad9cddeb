"""Document loaders: one small function per format, registered by file suffix.

Each loader turns a file into a `LoadedDocument`: Markdown text (headings as `#` lines) plus front-matter metadata, so
that chunking is the same for every format.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import yaml

from knowledge.errors import UnreadableDocument


@dataclass(frozen=True)
class LoadedDocument:
    """A document's text as Markdown-like lines, and what its front matter says about it."""

    text: str
    title: str
    metadata: dict = field(default_factory=dict)

    @property
    def url(self) -> str | None:
        value = self.metadata.get("url")
        return str(value) if value else None


Loader = Callable[[Path], tuple[str, dict]]
LOADERS: dict[str, Loader] = {}


def loader(*suffixes: str) -> Callable[[Loader], Loader]:
    """Register a loader for the given file suffixes."""

    def register(fn: Loader) -> Loader:
        for suffix in suffixes:
            LOADERS[suffix] = fn
        return fn

    return register


def supported(path: Path) -> bool:
    """True when a loader exists for this file's suffix."""
    return path.suffix.lower() in LOADERS


def load(path: Path) -> LoadedDocument:
    """Read one file into a LoadedDocument, or raise UnreadableDocument naming what was wrong."""
    fn = LOADERS.get(path.suffix.lower())
    if fn is None:
        raise UnreadableDocument(f"{path}: unsupported file type '{path.suffix or '(none)'}'")
    try:
        text, metadata = fn(path)
    except UnreadableDocument:
        raise
    except (OSError, UnicodeDecodeError) as exc:
        raise UnreadableDocument(f"{path}: cannot be read ({exc.__class__.__name__}: {exc})") from exc
    except Exception as exc:  # parsers raise many types on corrupt input
        raise UnreadableDocument(f"{path}: corrupt or unreadable ({exc.__class__.__name__}: {exc})") from exc
    text = text.replace("\r\n", "\n").replace("\x00", "")
    if not text.strip():
        raise UnreadableDocument(f"{path}: contains no text")
    return LoadedDocument(text=text, title=_title(text, metadata, path), metadata=metadata)


def _title(text: str, metadata: dict, path: Path) -> str:
    for key in ("title", "name"):
        if isinstance(metadata.get(key), str) and metadata[key].strip():
            return metadata[key].strip()
    match = re.search(r"^#\s+(.+?)\s*#*\s*$", text, re.MULTILINE)
    if match:
        return match.group(1).strip()
    return path.stem.replace("-", " ").replace("_", " ").strip().capitalize()


_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", re.DOTALL)


def split_front_matter(text: str) -> tuple[str, dict]:
    """Split YAML front matter from a Markdown body; malformed front matter is kept as body text."""
    match = _FRONT_MATTER.match(text.lstrip("\ufeff"))
    if not match:
        return text, {}
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        return text, {}
    if not isinstance(data, dict):
        return text, {}
    return text.lstrip("\ufeff")[match.end():], {str(k): v for k, v in data.items()}


@loader(".md", ".markdown")
def load_markdown(path: Path) -> tuple[str, dict]:
    return split_front_matter(path.read_text(encoding="utf-8"))


@loader(".txt")
def load_text(path: Path) -> tuple[str, dict]:
    return path.read_text(encoding="utf-8"), {}


@loader(".html", ".htm")
def load_html(path: Path) -> tuple[str, dict]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(path.read_bytes(), "html.parser")
    for tag in soup(["script", "style", "nav", "noscript"]):
        tag.decompose()
    metadata = {}
    if soup.title and soup.title.string:
        metadata["title"] = soup.title.string.strip()
    lines = []
    for element in soup.find_all(["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "td", "pre", "blockquote"]):
        if element.find_parent(["li", "td", "blockquote"]) and element.name in ("p",):
            continue
        text = " ".join(element.get_text(" ", strip=True).split())
        if not text:
            continue
        if element.name[0] == "h":
            lines.append("#" * int(element.name[1]) + " " + text)
        elif element.name == "li":
            lines.append("- " + text)
        else:
            lines.append(text)
    return "\n\n".join(lines), metadata


@loader(".pdf")
def load_pdf(path: Path) -> tuple[str, dict]:
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    if reader.is_encrypted:
        raise UnreadableDocument(f"{path}: PDF is encrypted")
    pages = [page.extract_text() or "" for page in reader.pages]
    metadata = {}
    info = reader.metadata
    if info is not None and info.title:
        metadata["title"] = str(info.title)
    return "\n\n".join(pages), metadata


@loader(".docx")
def load_docx(path: Path) -> tuple[str, dict]:
    import docx

    document = docx.Document(str(path))
    lines = []
    for paragraph in document.paragraphs:
        text = paragraph.text.strip()
        if not text:
            continue
        level = _heading_level(paragraph.style.name if paragraph.style is not None else "")
        lines.append("#" * level + " " + text if level else text)
    for table in document.tables:
        for row in table.rows:
            lines.append(" | ".join(cell.text.strip() for cell in row.cells))
    metadata = {}
    if document.core_properties.title:
        metadata["title"] = document.core_properties.title
    return "\n\n".join(lines), metadata


def _heading_level(style_name: str) -> int:
    if style_name == "Title":
        return 1
    match = re.match(r"Heading (\d)", style_name)
    return min(int(match.group(1)), 6) if match else 0

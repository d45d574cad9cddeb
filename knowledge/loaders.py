"""Document loaders: one small function per format, registered by file suffix.

Each loader turns a file into a `LoadedDocument`: Markdown text (headings as `#` lines) plus front-matter metadata, so
that chunking is the same for every format.
"""
from __future__ import annotations

import codecs
import logging
import re
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import yaml

from knowledge.errors import UnreadableDocument

log = logging.getLogger(__name__)


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


# A policy document is pages, not gigabytes: past these, a file is refused with a warning naming it, so one huge or
# hostile file (a 64 KiB .docx that unzips to 14 million characters) cannot exhaust memory or stall an ingest.
MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_UNZIPPED_BYTES = 20 * 1024 * 1024  # a .docx's XML is a few times its text: 2M characters fit
MAX_TEXT_CHARS = 2_000_000


def load(path: Path) -> LoadedDocument:
    """Read one file into a LoadedDocument, or raise UnreadableDocument naming what was wrong."""
    fn = LOADERS.get(path.suffix.lower())
    if fn is None:
        raise UnreadableDocument(f"{path}: unsupported file type '{path.suffix or '(none)'}'")
    try:
        _check_size(path)
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
    if len(text) > MAX_TEXT_CHARS:
        raise UnreadableDocument(f"{path}: skipped, {len(text):,} characters of text is more than the "
                                 f"{MAX_TEXT_CHARS:,} a document may have; split it into smaller documents")
    return LoadedDocument(text=text, title=_title(text, metadata, path), metadata=metadata)


def _check_size(path: Path) -> None:
    """Refuse a file too big to be a policy document, or a zip-based one (.docx) that unzips to too much."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise UnreadableDocument(f"{path}: skipped, {size / 2**20:.0f} MB is more than the "
                                 f"{MAX_FILE_BYTES // 2**20} MB a document may be")
    if path.suffix.lower() == ".docx" and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            unzipped = sum(info.file_size for info in archive.infolist())
        if unzipped > MAX_UNZIPPED_BYTES:
            raise UnreadableDocument(f"{path}: skipped, it unzips to {unzipped / 2**20:.0f} MB, more than the "
                                     f"{MAX_UNZIPPED_BYTES // 2**20} MB a document may be")


def _title(text: str, metadata: dict, path: Path) -> str:
    for key in ("title", "name"):
        if isinstance(metadata.get(key), str) and metadata[key].strip():
            return metadata[key].strip()
    match = re.search(r"^#\s+(.+?)\s*#*\s*$", text, re.MULTILINE)
    if match:
        return match.group(1).strip()
    return path.stem.replace("-", " ").replace("_", " ").strip().capitalize()


_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", re.DOTALL)


# Some generators omit the opening fence: `key: value` lines from the first line, closed by a `---` line.
_OPEN_FRONT_MATTER = re.compile(r"\A([A-Za-z_][\w-]*:[^\n]*\n(?:.*?\n)??)---[ \t]*(?:\n|\Z)", re.DOTALL)


def split_front_matter(text: str) -> tuple[str, dict]:
    """Split YAML front matter from a Markdown body; malformed front matter is kept as body text."""
    match = _FRONT_MATTER.match(text.lstrip("\ufeff")) or _OPEN_FRONT_MATTER.match(text.lstrip("\ufeff"))
    if not match or match.group(1).count("\n") > 60:
        return text, {}
    if match.re is _OPEN_FRONT_MATTER and len(re.findall(r"^[A-Za-z_][\w-]*:", match.group(1), re.M)) < 2:
        return text, {}  # one "Note: ..." line above a rule is prose, not front matter
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        return text, {}
    if not isinstance(data, dict):
        return text, {}
    return text.lstrip("\ufeff")[match.end():], {str(k): v for k, v in data.items()}


@loader(".md", ".markdown")
def load_markdown(path: Path) -> tuple[str, dict]:
    return split_front_matter(read_text(path))


@loader(".txt")
def load_text(path: Path) -> tuple[str, dict]:
    return read_text(path), {}


def read_text(path: Path) -> str:
    """A plain-text file as written on any desktop: UTF-8 (with or without a byte order mark), UTF-16 with its byte
    order mark (Windows Notepad's "Unicode"), else Windows-1252 (its "ANSI"). Bytes no text encoding has — NULs
    outside UTF-16, or the five bytes Windows-1252 leaves undefined — mean the file is not text."""
    data = path.read_bytes()
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if b"\x00" in data:
            raise UnreadableDocument(f"{path}: cannot be read (binary data, not text)") from exc
        return data.decode("cp1252")


# Elements whose own text is one line of the document; text outside them belongs to the nearest container.
_HTML_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_HTML_BLOCKS = _HTML_HEADINGS + ("p", "li", "dt", "dd", "td", "th", "pre", "blockquote", "caption", "figcaption")
_HTML_CONTAINERS = ("div", "section", "article", "main", "header", "footer", "aside", "figure", "form", "body",
                    "html")
# A paragraph inside one of these is part of it (so "- item" stays one line).
_HTML_ITEMS = ("li", "dt", "dd", "td", "th", "blockquote")


@loader(".html", ".htm")
def load_html(path: Path) -> tuple[str, dict]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(path.read_bytes(), "html.parser")
    title = soup.title.get_text(strip=True) if soup.title else ""
    metadata = {"title": title} if title else {}
    for tag in soup(["head", "title", "script", "style", "nav", "noscript", "template"]):
        tag.decompose()
    lines = []
    for name, text in _html_blocks(soup):
        if name in _HTML_HEADINGS:
            lines.append("#" * int(name[1]) + " " + text)
        elif name == "li":
            lines.append("- " + text)
        else:
            lines.append(text)
    return "\n\n".join(lines), metadata


def _html_blocks(soup) -> list[tuple[str, str]]:
    """(tag name, text) of each block element, its text being its own (not a nested block's), in document order."""
    from bs4.element import PreformattedString

    blocks: dict[int, tuple[str, list[str]]] = {}
    for string in soup.find_all(string=True):
        if isinstance(string, PreformattedString) or not string.strip():  # comments, doctype, CDATA
            continue
        block = string.find_parent(_HTML_BLOCKS + _HTML_CONTAINERS)  # None: a fragment's top-level text
        if block is not None and block.name in ("p", "div"):
            block = block.find_parent(_HTML_ITEMS) or block
        blocks.setdefault(id(block), (block.name if block is not None else "", []))[1].append(str(string))
    return [(name, " ".join(" ".join(strings).split())) for name, strings in blocks.values()]


@loader(".pdf")
def load_pdf(path: Path) -> tuple[str, dict]:
    from pypdf import PdfReader

    with _pypdf_notes_at_debug(path):
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            raise UnreadableDocument(f"{path}: PDF is encrypted")
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata
    metadata = {}
    if info is not None and info.title:
        metadata["title"] = str(info.title)
    return "\n\n".join(pages), metadata


class _ToDebug(logging.Handler):
    def __init__(self, path: Path):
        super().__init__()
        self.path = path

    def emit(self, record: logging.LogRecord) -> None:
        log.debug("%s: pypdf: %s", self.path, record.getMessage())


@contextmanager
def _pypdf_notes_at_debug(path: Path):
    """pypdf logs each repair of an imperfect file as a warning ("incorrect startxref pointer"): noise in ingest's
    output when the text was read all the same. They go to our log at DEBUG; a file it cannot read still fails."""
    pypdf_log = logging.getLogger("pypdf")
    handler, propagate = _ToDebug(path), pypdf_log.propagate
    pypdf_log.addHandler(handler)
    pypdf_log.propagate = False
    try:
        yield
    finally:
        pypdf_log.removeHandler(handler)
        pypdf_log.propagate = propagate


@loader(".docx")
def load_docx(path: Path) -> tuple[str, dict]:
    import docx
    from docx.table import Table

    document = docx.Document(str(path))
    lines = []
    for block in document.iter_inner_content():  # paragraphs and tables in document order
        if isinstance(block, Table):
            lines.extend(" | ".join(cell.text.strip() for cell in row.cells) for row in block.rows)
            continue
        text = block.text.strip()
        if not text:
            continue
        level = _heading_level(block.style.name if block.style is not None else "")
        lines.append("#" * level + " " + text if level else text)
    metadata = {}
    if document.core_properties.title:
        metadata["title"] = document.core_properties.title
    return "\n\n".join(lines), metadata


def _heading_level(style_name: str) -> int:
    if style_name == "Title":
        return 1
    match = re.match(r"Heading (\d)", style_name)
    return min(int(match.group(1)), 6) if match else 0

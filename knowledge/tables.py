"""Tables as sentences: each row of a Markdown table becomes one list item that names its columns.

A grid table (pandoc/reStructuredText `+----+` art) or a pipe table is only readable in two dimensions; cut into
chunks and sentences it turns into strings of bars and dashes, and a cell's words end up far from its column's name.
Rewritten as rows — "- Level: Confidential; Access: only to specific individuals." — every row is a sentence that can
be retrieved, quoted in an answer and understood on its own.
"""
from __future__ import annotations

import re

_GRID_RULE = re.compile(r"^\s*\+(?:[-=:]+\+)+\s*$")
_PIPE_DELIMITER = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?\s*$")
_ROW = re.compile(r"^- [^:;\n]{1,60}: [^;\n]*; [^:;\n]{1,60}: ")  # "- Column: cell; Column: cell", as _row_line writes it


def tables_as_rows(text: str) -> str:
    """The text with every grid and pipe table replaced by one "- column: cell; …" line per row."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        if _GRID_RULE.match(lines[i]):
            end = _grid_end(lines, i)
            if end > i + 1:
                out.extend(_grid_rows(lines[i:end]))
                i = end
                continue
        if "|" in lines[i] and i + 1 < len(lines) and _PIPE_DELIMITER.match(lines[i + 1]):
            end = i + 2
            while end < len(lines) and "|" in lines[end] and lines[end].strip():
                end += 1
            out.extend(_pipe_rows(lines[i], lines[i + 2:end]))
            i = end
            continue
        out.append(lines[i])
        i += 1
    return "\n".join(out)


def is_table_row(sentence: str) -> bool:
    """Whether a sentence is a table row as tables_as_rows writes it (two or more named cells)."""
    return bool(_ROW.match(sentence))


def _grid_end(lines: list[str], start: int) -> int:
    """One past the last line of the grid table starting at `start` (its closing rule)."""
    end = start + 1
    last_rule = start
    while end < len(lines) and (lines[end].lstrip().startswith("|") or _GRID_RULE.match(lines[end])):
        if _GRID_RULE.match(lines[end]):
            last_rule = end
        end += 1
    return last_rule + 1


def _grid_rows(block: list[str]) -> list[str]:
    bounds = [m.start() for m in re.finditer(r"\+", block[0].rstrip())]
    rows: list[list[str]] = []
    header: list[str] | None = None
    current: list[list[str]] = []
    for line in block[1:]:
        if _GRID_RULE.match(line):
            cells = [_join_cell(parts) for parts in current] if current else []
            current = []
            if "=" in line and header is None and not rows:
                header = cells
            elif any(cells):
                rows.append(cells)
            continue
        pieces = [line[a + 1:b] if b < len(line) + 1 else line[a + 1:] for a, b in zip(bounds, bounds[1:])]
        if not current:
            current = [[] for _ in pieces]
        for column, piece in enumerate(pieces):
            piece = piece.strip().strip("|").strip()
            if piece:
                current[column].append(piece)
    if not rows and header:  # a template with empty rows: its column names still say what it records
        return ["- " + "; ".join(cell for cell in header if cell)]
    return [_row_line(header, cells) for cells in rows]


def _join_cell(parts: list[str]) -> str:
    """A cell's lines as one text; a word hyphenated across lines ("indivi-", "duals") is mended."""
    text = ""
    for part in parts:
        if text.endswith("-") and part[:1].islower() and not text.endswith(" -"):
            text = text[:-1] + part
        else:
            text = f"{text} {part}" if text else part
    return text


def _pipe_rows(header_line: str, body: list[str]) -> list[str]:
    header = _pipe_cells(header_line)
    return [_row_line(header, cells) for cells in map(_pipe_cells, body) if any(cells)]


def _pipe_cells(line: str) -> list[str]:
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", line)]


def _row_line(header: list[str] | None, cells: list[str]) -> str:
    names = header or []
    parts = [f"{names[k]}: {cell}" if k < len(names) and names[k] and names[k] != cell else cell
             for k, cell in enumerate(cells) if cell]
    return "- " + "; ".join(parts)

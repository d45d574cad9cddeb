"""Real policy files of every format we ingest, written by the tests themselves (fpdf2, python-docx, plain text).

Each writer takes a title and an ordered {heading: body} mapping, so a test can put a distinctive fact in a known
section of a known format and look for it after ingest.
"""
from __future__ import annotations

from html import escape
from pathlib import Path

import yaml

Sections = dict[str, str]


def write_markdown(path: Path, title: str, sections: Sections, **front_matter) -> Path:
    """Markdown with YAML front matter (title plus any other fields) and one `##` heading per section."""
    header = yaml.safe_dump({"title": title, **front_matter}, sort_keys=False).strip()
    body = "\n\n".join(f"## {heading}\n\n{text}" for heading, text in sections.items())
    path.write_text(f"---\n{header}\n---\n\n# {title}\n\n{body}\n", encoding="utf-8")
    return path


def write_text(path: Path, paragraphs: list[str]) -> Path:
    """A plain-text file: paragraphs separated by blank lines, no headings."""
    path.write_text("\n\n".join(paragraphs) + "\n", encoding="utf-8")
    return path


def write_html(path: Path, title: str, sections: Sections) -> Path:
    """An HTML page with a <title>, an <h1>, one <h2> and <p> per section, and a script that must not be indexed."""
    parts = [f"<h2>{escape(heading)}</h2>\n<p>{escape(text)}</p>" for heading, text in sections.items()]
    path.write_text(
        f"<!doctype html>\n<html><head><title>{escape(title)}</title>"
        f"<script>var tracking = 'scriptnoiseword';</script><style>p {{ color: red; }}</style></head>\n"
        f"<body><h1>{escape(title)}</h1>\n" + "\n".join(parts) + "\n</body></html>\n",
        encoding="utf-8",
    )
    return path


def write_pdf(path: Path, title: str, sections: Sections) -> Path:
    """A real PDF (fpdf2) with its title in the document properties and each section as a bold line and a paragraph."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title(title)
    pdf.add_page()
    for heading, text in sections.items():
        pdf.set_font("Helvetica", style="B", size=14)
        pdf.multi_cell(0, 8, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=11)
        pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)
    pdf.output(str(path))
    return path


def write_docx(path: Path, title: str, sections: Sections, tables: dict[str, list[list[str]]] | None = None) -> Path:
    """A real Word document: a Title paragraph, a Heading 1 per section, and optional tables placed in a section."""
    import docx

    document = docx.Document()
    document.core_properties.title = title
    document.add_paragraph(title, style="Title")
    for heading, text in sections.items():
        document.add_heading(heading, level=1)
        document.add_paragraph(text)
        rows = (tables or {}).get(heading)
        if rows:
            table = document.add_table(rows=len(rows), cols=len(rows[0]))
            for row, values in zip(table.rows, rows):
                for cell, value in zip(row.cells, values):
                    cell.text = value
    document.save(str(path))
    return path

"""Loaders turn real files of every format into Markdown-like text plus a title; bad files raise a clear error."""
from __future__ import annotations

import datetime
import os
import sys
from pathlib import Path

import pytest

from knowledge.errors import UnreadableDocument
from knowledge.loaders import load, split_front_matter, supported
from tests.documents import write_docx, write_html, write_markdown, write_pdf, write_text

SECTIONS = {
    "Approved tools": "Kestrel Copilot is the approved assistant for drafting.",
    "Support": "Questions go to the ai-helpdesk channel, staffed from 8am to 6pm.",
}


def test_markdown_front_matter_becomes_metadata_and_leaves_the_body(tmp_path):
    path = write_markdown(tmp_path / "policy.md", "Acceptable Use", SECTIONS,
                          owner="Legal", effective_date=datetime.date(2027, 1, 11), url="https://intra.example/aup")

    doc = load(path)

    assert doc.title == "Acceptable Use"
    assert doc.metadata["owner"] == "Legal"
    assert doc.metadata["effective_date"] == datetime.date(2027, 1, 11)
    assert doc.url == "https://intra.example/aup"
    assert not doc.text.startswith("---")
    assert "owner:" not in doc.text
    assert "## Approved tools" in doc.text


def test_markdown_title_falls_back_to_first_heading_then_file_name(tmp_path):
    headed = tmp_path / "headed.md"
    headed.write_text("Intro line.\n\n# Password Policy\n\nRotate every 90 days.\n")
    bare = tmp_path / "remote-work_rules.md"
    bare.write_text("Work from anywhere in the EU.\n")

    assert load(headed).title == "Password Policy"
    assert load(bare).title == "Remote work rules"


def test_malformed_front_matter_is_kept_as_body_text():
    text = "---\ntitle: [unclosed\n---\nBody.\n"

    assert split_front_matter(text) == (text, {})


def test_front_matter_after_a_byte_order_mark_is_read():
    body, metadata = split_front_matter("\ufeff---\ntitle: BOM\n---\nBody.\n")

    assert metadata == {"title": "BOM"}
    assert body == "Body.\n"


def test_front_matter_without_an_opening_fence_is_read():
    """Some generators (e.g. comply's SOC 2 templates) start with `key: value` lines closed by `---`."""
    body, metadata = split_front_matter("name: Cyber Risk Policy\nacronym: CRP\n---\n\n# Purpose\n\nText.\n")

    assert metadata == {"name": "Cyber Risk Policy", "acronym": "CRP"}
    assert body.strip().startswith("# Purpose")


def test_one_label_line_above_a_rule_is_prose_not_front_matter():
    text = "Note: read this first\n---\nThe policy.\n"

    assert split_front_matter(text) == (text, {})


def test_suffixes_are_matched_case_insensitively(tmp_path):
    path = tmp_path / "UPPER.MD"
    path.write_text("# Upper\n\nText.\n")

    assert supported(path)
    assert load(path).title == "Upper"


def test_text_file_keeps_its_paragraphs_and_is_titled_from_its_name(tmp_path):
    path = write_text(tmp_path / "expense_notes.txt", ["First paragraph.", "Second paragraph."])

    doc = load(path)

    assert doc.title == "Expense notes"
    assert doc.text.strip() == "First paragraph.\n\nSecond paragraph."


def test_windows_line_endings_are_normalised(tmp_path):
    path = tmp_path / "crlf.md"
    path.write_bytes(b"---\r\ntitle: Windows\r\n---\r\n# Windows\r\n\r\nLine one.\r\n")

    doc = load(path)

    assert doc.title == "Windows"
    assert "\r" not in doc.text


@pytest.mark.parametrize("name, data", [
    ("notepad-unicode.txt", "\ufeffCafé rules – badges open the lab.\r\n".encode("utf-16-le")),
    ("notepad-unicode-be.md", "\ufeffCafé rules – badges open the lab.\n".encode("utf-16-be")),
    ("notepad-ansi.txt", "Café rules – badges open the lab.\r\n".encode("cp1252")),
    ("utf8-bom.md", "\ufeffCafé rules – badges open the lab.\n".encode("utf-8")),
])
def test_text_saved_by_windows_editors_is_read(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)

    assert load(path).text.strip() == "Café rules – badges open the lab."


def test_html_headings_become_markdown_and_scripts_are_dropped(tmp_path):
    path = write_html(tmp_path / "page.html", "Security Protocols", SECTIONS)

    doc = load(path)

    assert doc.title == "Security Protocols"
    assert "# Security Protocols" in doc.text.splitlines()
    assert "## Support" in doc.text.splitlines()
    assert "ai-helpdesk channel" in doc.text
    assert "scriptnoiseword" not in doc.text
    assert "color: red" not in doc.text


def test_html_text_outside_paragraphs_is_kept(tmp_path):
    path = tmp_path / "divs.html"
    path.write_text("<html><body><h1>Leave</h1><div>Annual leave is 28 days.</div>"
                    "<section><div>Carry over up to 5 days.<p>Ask your manager first.</p></div></section>"
                    "<dl><dt>Sick leave</dt><dd>Self-certify for 7 days.</dd></dl></body></html>")

    text = load(path).text

    for fact in ("Annual leave is 28 days.", "Carry over up to 5 days.", "Ask your manager first.",
                 "Sick leave", "Self-certify for 7 days."):
        assert fact in text


def test_html_fragment_without_body_keeps_its_loose_text(tmp_path):
    path = tmp_path / "fragment.html"
    path.write_text("Loose intro sentence. <p>A paragraph.</p><!-- a comment -->")

    assert load(path).text == "Loose intro sentence.\n\nA paragraph."


def test_html_nested_list_items_appear_once(tmp_path):
    path = tmp_path / "list.html"
    path.write_text("<html><body><h1>Tools</h1><ul><li>Approved<ul><li>Kestrel Copilot</li></ul></li>"
                    "<li><p>Banned</p></li></ul></body></html>")

    lines = load(path).text.split("\n\n")

    assert lines.count("- Kestrel Copilot") == 1
    assert sum("Kestrel Copilot" in line for line in lines) == 1
    assert "- Approved" in lines
    assert "- Banned" in lines


def test_pdf_text_and_title_are_extracted(tmp_path):
    path = write_pdf(tmp_path / "guide.pdf", "Incident Response", SECTIONS)

    doc = load(path)

    assert doc.title == "Incident Response"
    assert "Kestrel Copilot is the approved assistant" in " ".join(doc.text.split())
    assert "Support" in doc.text


def test_docx_headings_become_markdown_levels(tmp_path):
    path = write_docx(tmp_path / "memo.docx", "Training Programme", SECTIONS)

    doc = load(path)
    lines = doc.text.split("\n\n")

    assert doc.title == "Training Programme"
    assert lines[0] == "# Training Programme"
    assert "# Approved tools" in lines
    assert "Questions go to the ai-helpdesk channel, staffed from 8am to 6pm." in lines


def test_docx_table_stays_in_the_section_it_belongs_to(tmp_path):
    path = write_docx(tmp_path / "contacts.docx", "Contacts", SECTIONS,
                      tables={"Approved tools": [["Tool", "Owner"], ["Kestrel Copilot", "IT"]]})

    lines = load(path).text.split("\n\n")

    assert lines.index("Kestrel Copilot | IT") < lines.index("# Support")
    assert lines.index("# Approved tools") < lines.index("Tool | Owner")


def test_unsupported_file_type_is_named(tmp_path):
    path = tmp_path / "diagram.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n")

    assert not supported(path)
    with pytest.raises(UnreadableDocument, match=r"diagram\.png: unsupported file type '\.png'"):
        load(path)


@pytest.mark.parametrize("name, content, reason", [
    ("broken.pdf", b"%PDF-1.4\nthis is not really a pdf", "corrupt or unreadable"),
    ("broken.docx", b"PK\x03\x04 not a zip archive", "corrupt or unreadable"),
    ("binary.txt", bytes(range(256)), "cannot be read"),
    ("undefined.md", b"caf\xe9 \x81\x8d policy", "cannot be read"),
    ("empty.md", b"   \n\n", "contains no text"),
    ("empty.html", b"<html><body><script>x()</script></body></html>", "contains no text"),
])
def test_bad_file_raises_an_error_naming_it(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)

    with pytest.raises(UnreadableDocument) as raised:
        load(path)

    assert str(raised.value).startswith(f"{path}: {reason}")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/self/mem is Linux-only")
def test_file_that_fails_to_read_raises_an_error_naming_it(tmp_path):
    # Tests run as root, so chmod 000 does not stop reads; /proc/self/mem is a regular file whose first page is
    # never mapped, so reading it fails with EIO for anyone.
    path = tmp_path / "unreadable.txt"
    os.symlink("/proc/self/mem", path)

    with pytest.raises(UnreadableDocument, match=r"unreadable\.txt: cannot be read \(OSError"):
        load(Path(path))

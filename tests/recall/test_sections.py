"""The rule that decides whether a section's change is cosmetic or real, measured on examples (README, "Policy-change
recall"): why a single similarity ratio over the section cannot decide it, and what does."""
from __future__ import annotations

import pytest
from rapidfuzz.distance import OSA

from knowledge.index import StoredChunk
from knowledge.sections import changed_lines, document_changes, is_real_change, similarity

SECTION = ("Approved tools may be used for internal documents and code. You must report a suspected leak of "
           "customer data to the Security team within 24 hours, using the incident form. Contractors must receive "
           "written approval from their manager before using any approved tool.")

COSMETIC = {
    "spacing": SECTION.replace(". ", ".  \n"),
    "bold and italics": SECTION.replace("must report", "**must** report").replace("24 hours", "_24 hours_"),
    "typo fixed (transposition)": SECTION.replace("receive", "recieve"),
    "typo fixed (missing letter)": SECTION.replace("approval", "aproval"),
    "curly quotes and dashes": SECTION.replace("incident form", "\u201cincident form\u201d \u2013"),
    "case": SECTION.replace("Security team", "security Team"),
    "hyphenation": SECTION.replace("customer data", "customer-data"),
    "punctuation": SECTION.replace("hours, using", "hours using"),
}
REAL = {
    "deadline shortened": SECTION.replace("24 hours", "4 hours"),
    "negation": SECTION.replace("may be used", "may not be used"),
    "modal verb": SECTION.replace("Contractors must", "Contractors may"),
    "word replaced": SECTION.replace("Security team", "Privacy team"),
    "prefix": SECTION.replace("any approved tool", "any unapproved tool"),
    "sentence added": SECTION + " Personal accounts are never allowed.",
    "sentence removed": SECTION.split(". ")[0] + ".",
    "list item reordered into a different rule": SECTION.replace("internal documents and code", "code only"),
}


@pytest.mark.parametrize("name", COSMETIC)
def test_cosmetic_changes_are_not_real(name):
    assert not is_real_change(SECTION, COSMETIC[name])


@pytest.mark.parametrize("name", REAL)
def test_real_changes_are_real(name):
    assert is_real_change(SECTION, REAL[name])


def test_no_single_ratio_over_the_section_separates_them():
    """The measurement behind the rule: a one-character deadline change is as alike as a typo fix (both above 0.99),
    while reformatting can score lower than a real change. So the rule compares words, not the section's ratio."""
    real = {name: similarity(SECTION, text) for name, text in REAL.items()}
    cosmetic = {name: similarity(SECTION, text) for name, text in COSMETIC.items()}
    assert real["deadline shortened"] > 0.99 and cosmetic["typo fixed (transposition)"] > 0.99
    assert max(real.values()) >= min(cosmetic.values())  # no threshold sits between the two sets


def test_one_edit_separates_typos_from_other_words():
    """Typo fixes measured here are one edit (OSA: insert, delete, substitute, swap); the nearest real word changes
    are two or more, or rule words that are never treated as typos."""
    typos = [("recieve", "receive"), ("aproval", "approval"), ("complaince", "compliance"), ("employes", "employees")]
    others = [("approved", "unapproved"), ("security", "privacy"), ("monday", "sunday"), ("june", "july")]
    assert max(OSA.distance(a, b) for a, b in typos) == 1
    assert min(OSA.distance(a, b) for a, b in others) == 2
    assert is_real_change("You must do it.", "You most do it.")  # one edit, but a rule word
    assert is_real_change("Wait 3 days.", "Wait 8 days.")  # numbers are never typos


def chunk(cid: str, ordinal: int, section: str, sentences: list[str], sections: list[str] | None = None):
    meta = {"path": "p.md", "title": "Policy", "section": section, "ordinal": ordinal, "sentences": sentences}
    if sections:
        meta["sentence_sections"] = sections
    return StoredChunk(cid, " ".join(sentences), meta)


def test_sections_join_their_chunks_and_report_changed_and_removed_ones():
    before = [chunk("b", 1, "Tools", ["Row three.", "Row four."]), chunk("a", 0, "Tools", ["Row one.", "Row two."]),
              chunk("c", 2, "Data", ["Intro.", "Keep it safe."], ["Short", "Data"])]
    after = [chunk("x", 0, "Tools", ["Row one.", "Row 2."]), chunk("y", 1, "Tools", ["Row three.", "Row four."])]
    changes = {c.section: c for c in document_changes("p.md", "Policy", before, after)}
    assert set(changes) == {"Tools", "Data", "Short"}
    assert changes["Tools"].before == "Row one.\nRow two.\nRow three.\nRow four."
    assert changes["Data"].after is None and changes["Data"].real
    assert changed_lines(changes["Tools"].before, changes["Tools"].after) == (["Row two."], ["Row 2."])
    assert changes["Tools"].fingerprint == document_changes("p.md", "Policy", before, after)[0].fingerprint

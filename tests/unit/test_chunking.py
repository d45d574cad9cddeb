"""Heading-aware chunking: section paths, title on every chunk, code fences, merging, stable ids, size limits."""
from __future__ import annotations

import re
from datetime import datetime

from knowledge.chunking import (
    MIN_SECTION_CHARS,
    SECTION_SEPARATOR,
    Section,
    chunk_document,
    embedding_text,
    merge_short_sections,
    split_sections,
    split_sentences,
)

LONG = "Staff must complete the data-handling module before they get access to any assistant. " * 3

HANDBOOK = f"""# Security Handbook

## Passwords

### Rotation

Passwords are rotated every 90 days. {LONG}

### Length

Use at least 14 characters. {LONG}

## Devices

Laptops are encrypted with full-disk encryption. {LONG}
"""


def sections_of(text: str, title: str = "Security Handbook") -> dict[str, str]:
    return {SECTION_SEPARATOR.join(s.path): s.text for s in split_sections(text, title)}


def test_section_path_follows_heading_levels():
    assert list(sections_of(HANDBOOK)) == ["Passwords › Rotation", "Passwords › Length", "Devices"]


def test_heading_equal_to_the_title_is_not_part_of_the_path():
    chunks = chunk_document("handbook.md", "Security Handbook", HANDBOOK)

    assert all(not c.section.startswith("Security Handbook") for c in chunks)


def test_every_chunk_carries_title_and_section():
    chunks = chunk_document("handbook.md", "Security Handbook", HANDBOOK)

    assert [(c.title, c.section) for c in chunks] == [
        ("Security Handbook", "Passwords › Rotation"),
        ("Security Handbook", "Passwords › Length"),
        ("Security Handbook", "Devices"),
    ]
    assert [c.ordinal for c in chunks] == [0, 1, 2]


def test_embedding_text_leads_with_title_and_section():
    chunk = chunk_document("handbook.md", "Security Handbook", HANDBOOK)[1]

    assert chunk.embedding_text.startswith("Security Handbook › Passwords › Length\nUse at least 14 characters.")
    assert embedding_text("Plain", None, "Body.") == "Plain\nBody."


def test_heading_inside_a_code_fence_does_not_start_a_section():
    text = f"""# Guide

## Setup

Run the installer. {LONG}

```bash
# install the client
pip install kestrel
```

~~~
## not a heading either
~~~

After installing, sign in with SSO.
"""

    chunks = chunk_document("guide.md", "Guide", text)

    assert [c.section for c in chunks] == ["Setup"]
    assert "# install the client pip install kestrel" in chunks[0].text
    assert "## not a heading either" in chunks[0].text
    assert "After installing, sign in with SSO." in chunks[0].text


def test_code_fence_markers_do_not_leak_into_chunk_text():
    text = f"# Guide\n\n## Setup\n\n{LONG}\n\n```python\nprint('hello')\n```\n"

    body = chunk_document("guide.md", "Guide", text)[0].text

    assert "print('hello')" in body
    assert "`" not in body
    assert "python" not in body


def test_short_section_is_merged_into_the_next_with_its_heading():
    text = f"# Policy\n\n## Scope\n\n### Intro\n\nApplies to all staff.\n\n### Details\n\n{LONG}\n"

    chunks = chunk_document("policy.md", "Policy", text)

    assert len(chunks) == 1
    assert chunks[0].section == "Scope › Details"  # cited under the section that holds most of the text
    assert chunks[0].text.startswith("Intro:\n\nApplies to all staff.\n\nStaff must")


def test_parent_intro_is_merged_into_its_first_child():
    text = f"# Policy\n\n## Leave\n\nTwo kinds of leave.\n\n### Annual\n\n{LONG}\n"

    chunks = chunk_document("policy.md", "Policy", text)

    assert [c.section for c in chunks] == ["Leave › Annual"]
    assert chunks[0].text.startswith("Two kinds of leave.\n\n")


def test_last_short_section_is_merged_into_the_one_before():
    merged = merge_short_sections([Section(("A", "B"), LONG), Section(("A", "C"), "Tiny.")])

    assert [(m.path, m.text) for m in merged] == [(("A", "B"), f"{LONG}\n\nC:\n\nTiny.")]
    assert merged[0].origins == ((("A", "B"), LONG), (("A", "C"), "Tiny."))


def test_no_chunk_is_a_short_section_alone_when_it_has_neighbours():
    text = "# T\n\n" + "\n\n".join(f"## Part {i}\n\nPart {i} text. {LONG if i % 2 else ''}" for i in range(6))

    sections = merge_short_sections(split_sections(text, "T"))

    assert all(len(s.text) >= MIN_SECTION_CHARS for s in sections)
    assert all(f"Part {i} text." in "".join(s.text for s in sections) for i in range(6))


def test_short_top_level_section_merged_into_its_sibling_keeps_the_sibling_label():
    text = f"# Policy\n\n## Contact\n\nMail ai@kestrel.example.\n\n## Reporting\n\n{LONG}\n"

    chunks = chunk_document("policy.md", "Policy", text)

    assert [c.section for c in chunks] == ["Reporting"]


def test_short_last_section_does_not_relabel_the_chunk_it_joins():
    text = f"# Policy\n\n## Scope\n\nAll staff.\n\n## Reporting\n\n{LONG}\n\n## Contact\n\nMail ai@kestrel.example.\n"

    chunks = chunk_document("policy.md", "Policy", text)

    assert [c.section for c in chunks] != ["Contact"]
    assert "Contact:" in chunks[-1].text


def test_chunk_ids_are_stable_for_the_same_content():
    first = chunk_document("handbook.md", "Security Handbook", HANDBOOK)
    second = chunk_document("handbook.md", "Security Handbook", HANDBOOK)

    assert [c.id for c in first] == [c.id for c in second]
    assert all(re.fullmatch(r"[0-9a-f]{32}", c.id) for c in first)


def test_editing_one_section_changes_only_its_chunk_id():
    before = chunk_document("handbook.md", "Security Handbook", HANDBOOK)
    after = chunk_document("handbook.md", "Security Handbook", HANDBOOK.replace("14 characters", "16 characters"))

    assert [b.id == a.id for b, a in zip(before, after)] == [True, False, True]


def test_same_text_in_another_document_gets_other_ids():
    ours = {c.id for c in chunk_document("a.md", "Security Handbook", HANDBOOK)}
    theirs = {c.id for c in chunk_document("b.md", "Security Handbook", HANDBOOK)}

    assert not ours & theirs


def test_repeated_text_in_one_section_gets_distinct_ids():
    paragraph = "Report phishing to security@kestrel.example at once. " * 8
    text = f"# T\n\n## Repeat\n\n{paragraph}\n\n{paragraph}\n"

    chunks = chunk_document("t.md", "T", text, max_chars=500)

    assert len(chunks) == 2
    assert chunks[0].text == chunks[1].text
    assert chunks[0].id != chunks[1].id


def test_long_paragraph_is_split_on_sentences_under_the_limit():
    sentences = [f"Rule {i} says the assistant must never see customer record {i}." for i in range(60)]
    text = "# Rules\n\n## All\n\n" + " ".join(sentences) + "\n"

    chunks = chunk_document("rules.md", "Rules", text, max_chars=400)

    assert len(chunks) > 5
    assert all(len(c.text) <= 400 for c in chunks)
    assert all(c.text.endswith(".") for c in chunks)  # cut between sentences, not inside one
    assert " ".join(c.text for c in chunks) == " ".join(sentences)


def test_sentence_without_punctuation_is_cut_at_spaces_under_the_limit():
    words = [f"word{i}" for i in range(400)]
    text = "# T\n\n## S\n\n" + " ".join(words) + "\n"

    chunks = chunk_document("t.md", "T", text, max_chars=300)

    assert all(len(c.text) <= 300 for c in chunks)
    assert " ".join(c.text for c in chunks).split() == words


def test_paragraphs_are_packed_together_up_to_the_limit():
    paragraphs = [f"Paragraph {i} is about one rule." for i in range(30)]
    text = "# T\n\n## S\n\n" + "\n\n".join(paragraphs) + "\n"

    chunks = chunk_document("t.md", "T", text, max_chars=200)

    assert all(len(c.text) <= 200 for c in chunks)
    assert all(len(a.text) + 2 + len(paragraphs[0]) > 200 for a in chunks[:-1])  # none could take one more
    assert "\n\n".join(c.text for c in chunks) == "\n\n".join(paragraphs)


def test_markdown_decoration_is_removed_from_chunk_text():
    text = ("# T\n\n## S\n\nSee the **approved** list at [the intranet](https://intra.example/tools) "
            "and use `kestrel-cli` <!-- internal note --> only. " + LONG)

    body = chunk_document("t.md", "T", text)[0].text

    assert body.startswith("See the approved list at the intranet and use kestrel-cli only.")


def test_list_items_are_kept_whole_as_sentences():
    text = "Never paste:\n- customer data. Ever.\n- source code\n1. passwords"

    assert split_sentences(text) == ["Never paste:", "- customer data.", "Ever.", "- source code", "1. passwords"]


def test_list_items_of_an_indexed_chunk_are_sentences_of_their_own():
    text = ("# MFA\n\n## Methods\n\nThe allowed methods are:\n- Push notification through the app\n"
            "- Hardware token\n- Time-based One-Time Password (TOTP)\n(a) Users must not share tokens.")

    body = chunk_document("mfa.md", "MFA", text)[0].text

    assert split_sentences(body) == ["The allowed methods are:", "- Push notification through the app",
                                     "- Hardware token", "- Time-based One-Time Password (TOTP)",
                                     "(a) Users must not share tokens."]


def test_wrapped_prose_is_still_one_line_per_paragraph():
    body = chunk_document("t.md", "T", "# T\n\nA sentence that\nwraps over lines. " + LONG)[0].text

    assert body.startswith("A sentence that wraps over lines.")


def test_a_long_list_keeps_its_items_apart_when_split_under_the_limit():
    items = "\n".join(f"- item {n} " + "word " * 30 for n in range(12))
    chunks = chunk_document("t.md", "T", f"# T\n\nWe require:\n{items}", max_chars=400)

    assert len(chunks) > 1 and all(len(c.text) <= 400 for c in chunks)
    sentences = [s for c in chunks for s in split_sentences(c.text)]
    assert sum(s.startswith("- item") for s in sentences) == 12


def test_abbreviations_do_not_end_sentences():
    text = "Never forward mail to an outside account (e.g. Slack or Gmail). Ask Dr. Chen. Then stop, i.e. Halt."

    assert split_sentences(text) == ["Never forward mail to an outside account (e.g. Slack or Gmail).",
                                     "Ask Dr. Chen.", "Then stop, i.e. Halt."]


def test_a_list_intro_opens_the_chunk_of_its_list_rather_than_closing_the_one_before():
    before = "Some earlier policy text that fills most of a chunk. " * 5
    items = "\n".join(f"- method {n} is approved for everyone" for n in range(6))
    chunks = chunk_document("m.md", "MFA", f"# MFA\n\n{before}\n\nApproved MFA methods include:\n\n{items}",
                            max_chars=400)

    assert not any(c.text.rstrip().endswith(":") for c in chunks)
    assert any(c.text.startswith("Approved MFA methods include:\n- method 0") for c in chunks)


def test_a_numbered_item_keeps_its_number_with_its_text():
    assert split_sentences("1. User IDs are personal. 2. Never share them. The minimum is 5. Then stop.") == [
        "1. User IDs are personal.", "2. Never share them.", "The minimum is 5.", "Then stop."]


def test_html_entities_are_decoded_and_a_lone_nbsp_leaves_nothing():
    chunks = chunk_document("t.md", "T", "# T\n\nTerms &amp; conditions apply.\n\n&nbsp;\n\n" + LONG)

    assert chunks[0].text.startswith("Terms & conditions apply.\n\n" + LONG[:20])


def test_a_table_stays_with_the_paragraph_before_it_when_they_must_be_cut():
    intro = "Only the tools below are approved for Kestrel work. " * 3
    table = "| Tool | Who |\n| --- | --- |\n" + "\n".join(f"| Tool {n} | " + "everyone with a seat " * 6 + "|"
                                                   for n in range(4))
    chunks = chunk_document("t.md", "T", f"# T\n\n{'Earlier text. ' * 30}\n\n{intro}\n\n{table}", max_chars=500)

    with_intro = next(c for c in chunks if "Only the tools below" in c.text)
    assert "- Tool: Tool 0; Who: everyone" in with_intro.text


def test_every_piece_of_a_table_cut_across_chunks_opens_with_the_sentence_that_introduces_it():
    intro = "Only the tools below are approved for Kestrel work."
    table = "| Tool | Who |\n| --- | --- |\n" + "\n".join(f"| Tool {n} | " + "everyone with a seat " * 6 + "|"
                                                   for n in range(6))
    chunks = chunk_document("t.md", "T", f"# T\n\n{intro}\n\n{table}", max_chars=400)

    pieces = [c for c in chunks if "- Tool: Tool" in c.text]
    assert len(pieces) > 1
    assert all(c.text.startswith(intro + "\n- Tool: Tool") for c in pieces)
    rows = [s for c in pieces for s in split_sentences(c.text) if s.startswith("- Tool: Tool")]
    assert len(rows) == len(set(rows)) == 6  # every row once: only the intro is repeated


def test_front_matter_becomes_sentences_that_can_be_found_and_quoted():
    from knowledge.chunking import ABOUT_SECTION, about_chunk

    about = about_chunk("aup.md", "Acceptable Use Policy", {"owner": "Information Security (Priya Natarajan, CISO)",
                                                             "version": 1.0, "effective_date": "2027-01-11",
                                                             "audience": ["employees", "contractors"],
                                                             "url": "https://intranet/aup"}, ordinal=7)

    assert about.section == ABOUT_SECTION and about.ordinal == 7
    assert split_sentences(about.text) == [
        "The Acceptable Use Policy is owned by Information Security (Priya Natarajan, CISO).",
        "The current version of the Acceptable Use Policy is version 1.0.",
        "The Acceptable Use Policy took effect on 2027-01-11.",
        "The Acceptable Use Policy applies to employees, contractors."]
    assert about_chunk("x.md", "X", {"url": "https://intranet/x"}, ordinal=0) is None  # nothing to say
    odd = about_chunk("x.md", "The Handbook", {"owner": {"name": "Ana Silva", "team": "Legal"}, "version": "  ",
                                               "audience": ["staff", None], "date": datetime(2027, 1, 4)}, 0)
    assert odd.text == ("The Handbook is owned by name: Ana Silva, team: Legal. The Handbook was last updated on "
                        "2027-01-04. The Handbook applies to staff.")


def test_a_sentence_of_a_merged_short_section_is_cited_under_its_own_heading():
    text = f"# Policy\n\n## Contact\n\nMail ai@kestrel.example.\n\n## Reporting\n\n{LONG}\n"

    [chunk] = chunk_document("policy.md", "Policy", text)
    under = dict(zip(split_sentences(chunk.text), chunk.sentence_sections))

    assert chunk.section == "Reporting"
    assert under["Mail ai@kestrel.example."] == "Contact" and under["Contact:"] == "Contact"
    assert under[LONG.split(". ")[0] + "."] == "Reporting"


def test_a_chunk_of_one_section_records_no_sentence_sections():
    assert all(c.sentence_sections == () for c in chunk_document("h.md", "Security Handbook", HANDBOOK))


def test_a_sentence_repeated_in_merged_sections_is_cited_under_the_section_it_sits_in():
    text = ("# FAQ\n\n## Can I join late?\n\nNo. Places closed.\n\n## Can I leave?\n\nYes. Ask IT.\n\n"
            "## Can I bring a guest?\n\nNo. Guests are not allowed.\n\n## Details\n\n" + LONG)

    labels = {}
    for chunk in chunk_document("faq.md", "FAQ", text):
        for sentence, label in zip(split_sentences(chunk.text), chunk.sentence_sections or ()):
            labels.setdefault(sentence, []).append(label)

    assert labels["No."] == ["Can I join late?", "Can I bring a guest?"]
    assert labels["Yes."] == ["Can I leave?"] and labels["Guests are not allowed."] == ["Can I bring a guest?"]

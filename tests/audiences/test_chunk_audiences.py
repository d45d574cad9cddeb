"""Audiences in documents: which front-matter values and heading markers restrict a chunk, and what its metadata
carries (knowledge/audiences.py, knowledge/chunking.py, knowledge/ingest.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.audiences import MINE, OTHERS, Scope, audience_names, audiences_of, marker_names
from knowledge.chunking import chunk_document
from knowledge.ingest import SourceFile, chunk_records
from knowledge.loaders import load

POLICIES = Path(__file__).resolve().parents[2] / "knowledge" / "policies"
BODY = "Words that make this section long enough to stand as a chunk of its own, not merged into another. " * 3


@pytest.mark.parametrize("value, names", [
    ("pilot", ("pilot",)),
    ("Engineering", ("engineering",)),
    ("pilot, engineering", ("engineering", "pilot")),
    (["pilot", "eng-team"], ("eng-team", "pilot")),
    ("everyone", ()),
    ("all", ()),
    ("pilot, all", ()),
    (None, ()),
    ("", ()),
    ("All employees and contractors", ()),  # a description for readers, as our policies' front matter has
    ("All employees and contractors; people managers", ()),
    ("Pilot participants, their managers, and anyone curious about the pilot", ()),
])
def test_only_audience_names_restrict_a_description_applies_to_everyone(value, names):
    assert audience_names(value) == names


def test_a_marker_is_an_html_comment_line_naming_audiences():
    assert marker_names("<!-- audience: engineering -->") == ("engineering",)
    assert marker_names("  <!--audience:Pilot,engineering-->  ") == ("engineering", "pilot")
    assert marker_names("<!-- audience: everyone -->") == ()
    assert marker_names("<!-- a comment -->") is None
    assert marker_names("audience: pilot") is None


def test_a_marker_under_a_heading_restricts_that_section_and_its_subsections_only():
    text = (f"# Policy\n\n## General\n\n{BODY}\n\n## Engineers\n<!-- audience: engineering -->\n\n{BODY}\n\n"
            f"### Sandboxes\n\n{BODY}\n\n## Pilot\n\n<!-- audience: pilot -->\n{BODY}\n\n## Again general\n\n{BODY}")
    chunks = chunk_document("p.md", "Policy", text)
    assert [(c.section, c.audiences) for c in chunks] == [
        ("General", ()), ("Engineers", ("engineering",)), ("Engineers › Sandboxes", ("engineering",)),
        ("Pilot", ("pilot",)), ("Again general", ())]
    assert all("audience" not in c.text for c in chunks)  # the marker is no part of the text


def test_a_short_section_is_never_merged_into_a_neighbour_of_another_audience():
    text = f"# Policy\n\n## Short\n<!-- audience: pilot -->\nOnly a line.\n\n## Long\n\n{BODY}"
    chunks = chunk_document("p.md", "Policy", text)
    assert [(c.section, c.audiences) for c in chunks] == [("Short", ("pilot",)), ("Long", ())]
    same = chunk_document("p.md", "Policy", f"# Policy\n\n## Short\n\nOnly a line.\n\n## Long\n\n{BODY}")
    assert len(same) == 1  # without a marker the short section is merged, as before


def test_a_documents_audience_covers_every_chunk_unless_a_section_opens_itself_to_everyone():
    text = f"# Pilot notes\n\n## Setup\n\n{BODY}\n\n## For all\n<!-- audience: everyone -->\n\n{BODY}"
    chunks = chunk_document("p.md", "Pilot notes", text, audiences=("pilot",))
    assert [c.audiences for c in chunks] == [("pilot",), ()]


def test_ingest_stores_the_audience_in_chunk_metadata_for_restricted_chunks_only(tmp_path):
    path = tmp_path / "pilot.md"
    path.write_text(f"---\ntitle: Pilot handbook\naudience: pilot\nowner: AI Enablement\n---\n\n# Pilot handbook\n\n"
                    f"## Setup\n\n{BODY}\n\n## Open\n<!-- audience: all -->\n\n{BODY}\n", encoding="utf-8")
    records = chunk_records(SourceFile(path, "pilot.md"), load(path), "hash", 700)
    by_section = {r.metadata["section"]: r.metadata for r in records}
    assert by_section["Setup"]["restricted"] is True and by_section["Setup"]["audiences"] == ["pilot"]
    assert "restricted" not in by_section["Open"] and "audiences" not in by_section["Open"]
    assert audiences_of(by_section["About this document"]) == ("pilot",)  # its front matter is the pilot's too


def test_our_sample_policies_have_a_pilot_and_an_engineering_section_and_descriptions_restrict_nothing():
    records = [r for path in sorted(POLICIES.glob("*.md"))
               for r in chunk_records(SourceFile(path, path.name), load(path), "hash", 700)]
    restricted = {(r.metadata["section"], tuple(r.metadata["audiences"])) for r in records
                  if r.metadata.get("restricted")}
    assert restricted == {("Logging and retention of prompts › Retention during the pilot", ("pilot",)),
                          ("Secrets and API keys › Sandbox keys for engineers", ("engineering",))}


def test_a_scope_admits_what_applies_or_only_the_askers_own_or_only_the_rest():
    mine = Scope(frozenset({"pilot"}))
    assert mine.admits(()) and mine.admits(("pilot",)) and mine.admits(("engineering", "pilot"))
    assert not mine.admits(("engineering",))
    own = Scope(frozenset({"pilot"}), MINE)
    assert own.admits(("pilot",)) and not own.admits(()) and not own.admits(("engineering",))
    others = Scope(frozenset({"pilot"}), OTHERS)
    assert not others.admits(()) and not others.admits(("pilot",)) and others.admits(("engineering",))
    assert Scope().where() == {"restricted": {"$ne": True}}
    assert mine.where() == {"$or": [{"restricted": {"$ne": True}}, {"audiences": {"$contains": "pilot"}}]}
    assert own.where() == {"audiences": {"$contains": "pilot"}}
    assert others.where() == {"$and": [{"restricted": True}, {"audiences": {"$not_contains": "pilot"}}]}

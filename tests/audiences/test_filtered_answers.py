"""Answers use only the documents that apply to the asker, and say so when their rule differs from the general one:
real Chroma (its `where` filter), the real lexical index and the real model, over our sample policies."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from knowledge.answer import make_answerer
from knowledge.audiences import GENERAL, OTHERS, Scope, audiences_of
from knowledge.base import KnowledgeBase
from knowledge.index import KnowledgeIndex

POLICIES = Path(__file__).resolve().parents[2] / "knowledge" / "policies"
RETENTION = "How long are prompts and responses stored?"
GATEWAY_KEY = "Where should I keep my AI Gateway key?"
BODY = "This paragraph is only here so that the section is long enough to be a chunk of its own. " * 3


@pytest.fixture(scope="module")
def kb(tmp_path_factory, embedder) -> KnowledgeBase:
    base = KnowledgeBase(KnowledgeIndex(tmp_path_factory.mktemp("audiences"), embedder), make_answerer("extractive"))
    base.ingest([POLICIES])
    return base


def restricted(evidence) -> list[tuple[str, ...]]:
    return [names for p in evidence.passages if (names := audiences_of(p.chunk.metadata))]


def test_the_index_knows_which_audiences_its_documents_name(kb):
    assert kb.audiences() == {"pilot", "engineering"}


def test_someone_in_no_audience_gets_the_general_rule_only(kb):
    answer, evidence = kb.ask_with_evidence(RETENTION)
    assert answer.answered and "kept for 30 days" in answer.text and "pilot participants" not in answer.text
    assert restricted(evidence) == []  # neither Chroma nor BM25 brought a pilot-only chunk
    assert all("pilot" not in (s.section or "").lower() for s in answer.sources)


def test_a_pilot_participant_gets_their_rule_first_then_everyone_elses_labelled(kb):
    answer, evidence = kb.ask_with_evidence(RETENTION, audiences=["pilot"])
    assert answer.answered
    own, _, general = answer.text.partition("\n\n**For everyone else:** ")
    assert own.startswith("**As a pilot participant:** ") and "pilot participants are kept for 90 days" in own
    assert "30 days" not in own and "kept for 30 days" in general
    numbers = [int(n) for n in re.findall(r"\[(\d+)\]", answer.text)]
    assert sorted(set(numbers)) == list(range(1, max(numbers) + 1)) and numbers[0] == 1  # 1..n, no gaps
    assert sorted(s.number for s in answer.sources) == sorted(set(numbers))
    assert answer.sources[0].section == "Logging and retention of prompts › Retention during the pilot"
    assert ("engineering",) not in restricted(evidence)


def test_an_engineer_gets_the_sandbox_rule_and_others_only_hear_that_engineers_have_one(kb):
    engineer = kb.ask(GATEWAY_KEY, audiences=["engineering"])
    own, _, general = engineer.text.partition("\n\n**For everyone else:** ")
    assert own.startswith("**As a member of engineering:** ") and "sandbox key" in own
    assert "Azure Key Vault" in general
    for audiences in ([], ["pilot"]):
        answer, evidence = kb.ask_with_evidence(GATEWAY_KEY, audiences=audiences)
        assert "Azure Key Vault" in answer.text and "sandbox" not in answer.text.lower()
        assert answer.text.endswith("\n\n_Members of engineering have different rules on this._")
        assert ("engineering",) not in restricted(evidence)


def test_a_question_without_an_audience_section_reads_as_before_for_everyone(kb):
    general = kb.ask("Which AI tools are approved?")
    pilot = kb.ask("Which AI tools are approved?", audiences=["pilot"])
    assert pilot.text == general.text and "As a pilot participant" not in pilot.text


def test_filters_hold_on_both_search_paths_for_a_word_only_a_restricted_section_has(tmp_path, embedder):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "tools.md").write_text(
        f"---\ntitle: Tools\n---\n\n# Tools\n\n## Everyone\n\nApproved tools are listed on the portal. {BODY}\n\n"
        f"## Engineers\n<!-- audience: engineering -->\n\nThe quorblax cluster runs local models for engineers. "
        f"{BODY}\n",
        encoding="utf-8")
    kb = KnowledgeBase(KnowledgeIndex(tmp_path / "data", embedder), make_answerer("extractive"))
    kb.ingest([folder])
    lexical = kb.index.lexical()
    scores = lexical.scores("quorblax")
    [row] = [i for i, cid in enumerate(lexical.ids) if cid in lexical.audiences]
    assert scores[row] > 0 and lexical.within(scores, GENERAL.admits)[row] == 0
    assert lexical.within(scores, Scope(frozenset({"engineering"})).admits)[row] == scores[row]
    vector = kb.index.embedder.encode_query("quorblax cluster")
    general_ids = [cid for cid, _ in kb.index.nearest_ids(vector, 10, GENERAL.where())]
    assert lexical.ids[row] not in general_ids and general_ids  # Chroma's `where` left it out
    others = [cid for cid, _ in kb.index.nearest_ids(vector, 10, Scope(mode=OTHERS).where())]
    assert others == [lexical.ids[row]]
    assert all("quorblax" not in p.chunk.text for p in kb.retriever.retrieve("quorblax cluster").passages)
    engineers = Scope(frozenset({"engineering"}))
    assert "quorblax" in kb.retriever.retrieve("quorblax cluster", scope=engineers).top.chunk.text


PLAYBOOK = ("---\ntitle: Contribution policy\naudience: [developers, managers, isso]\n---\n\n# Contribution policy\n\n"
            "## Disclosure\n\nEvery AI-assisted pull request carries the zorvex disclosure label. {body}\n")
TOOLS = ("---\ntitle: Tools\n---\n\n# Tools\n\n## Everyone\n\nApproved tools are listed on the portal. {body}\n\n"
         "## Engineers\n<!-- audience: engineering -->\n\nThe quorblax cluster runs local models for engineers. {body}\n")


@pytest.fixture(scope="module")
def org_kb(tmp_path_factory, embedder) -> KnowledgeBase:
    folder = tmp_path_factory.mktemp("org-docs")
    (folder / "playbook.md").write_text(PLAYBOOK.format(body=BODY), encoding="utf-8")
    (folder / "tools.md").write_text(TOOLS.format(body=BODY), encoding="utf-8")
    base = KnowledgeBase(KnowledgeIndex(tmp_path_factory.mktemp("org-data"), embedder), make_answerer("extractive"))
    base.ingest([folder])
    return base


def test_front_matter_names_the_organisation_does_not_have_describe_readers_and_hide_nothing(org_kb):
    org_kb.known_audiences = lambda: {"pilot"}  # a workspace with no audience of its own
    assert org_kb.index.lexical().declared == {"engineering"}  # what the marker declares, the front matter not
    answer = org_kb.ask("Which label goes on an AI-assisted pull request?")
    assert answer.answered and "zorvex" in answer.text
    # The marker still restricts: "engineering" is an audience because a marker says so.
    assert all("quorblax" not in p.chunk.text for p in org_kb.ask_with_evidence("quorblax cluster")[1].passages)
    assert "quorblax" in org_kb.ask("What runs on the quorblax cluster?", audiences=["engineering"]).text


def test_once_the_organisation_has_the_audience_its_front_matter_restricts(org_kb):
    org_kb.known_audiences = lambda: {"pilot", "developers"}
    assert "zorvex" not in org_kb.ask("Which label goes on an AI-assisted pull request?").text
    mine = org_kb.ask("Which label goes on an AI-assisted pull request?", audiences=["developers"])
    assert "zorvex" in mine.text
    org_kb.known_audiences = None  # the knowledge layer alone: every name restricts
    assert "zorvex" not in org_kb.ask("Which label goes on an AI-assisted pull request?").text

"""What an employee reads, over our own sample policies and the real model: the answer first, whole lists, citations
that match, front matter, context only when a question needs it, and refusals that name nothing when nothing is close.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from knowledge.abstain import Abstention
from knowledge.answer import make_answerer
from knowledge.base import KnowledgeBase
from knowledge.extractive import SHORT_BUDGET
from knowledge.index import KnowledgeIndex
from knowledge.tables import tables_as_rows

POLICIES = Path(__file__).resolve().parents[2] / "knowledge" / "policies"
APPROVED = ["Kestrel Copilot", "GitHub Copilot Business", "Microsoft 365 Copilot"]


@pytest.fixture(scope="module")
def kb(tmp_path_factory, embedder) -> KnowledgeBase:
    base = KnowledgeBase(KnowledgeIndex(tmp_path_factory.mktemp("answers"), embedder), make_answerer("extractive"))
    base.ingest([POLICIES])
    return base


def section_text(path: str, section: str | None) -> str:
    """The text under a section heading of one of our policies (front matter for 'About this document')."""
    text = tables_as_rows(re.sub(r"\*\*|`", "", (POLICIES / path).read_text(encoding="utf-8")))
    heading = section.split(" › ")[-1] if section and section != "About this document" else None
    if heading is not None:
        text = re.split(r"\n#{1,6} ", text.split(f" {heading}\n", 1)[1], maxsplit=1)[0]
    return " ".join(text.split())


def cited_numbers(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"\[(\d+)\]", text)]


@pytest.mark.parametrize("question", ["approved tools?", "which tools are approved?", "which AI tools are approved?"])
def test_a_list_question_gets_the_whole_list_in_the_short_answer(kb, question):
    answer = kb.ask(question)

    assert answer.answered and all(tool in answer.text for tool in APPROVED), answer.text
    assert answer.sources[0].section == "Approved AI tools"


@pytest.mark.parametrize("question", ["who is the CISO?", "who owns the acceptable use policy?"])
def test_front_matter_answers_who_owns_what(kb, question):
    answer = kb.ask(question)

    assert answer.answered and "Priya Natarajan" in answer.text


def test_when_a_policy_took_effect_is_answered_from_its_front_matter(kb):
    answer = kb.ask("when was the incident procedure last updated?")

    assert answer.answered and "2027-01-11" in answer.text
    assert answer.sources[0].path == "ai-incident-response.md"


def test_sources_are_numbered_from_one_in_order_of_first_use_each_with_its_own_section(kb):
    for question in ["I leaked an API key in a prompt, how fast do I report it?", "which tools are approved?",
                     "how long does kestrel copilot keep my prompts", "who is in the pilot?"]:
        answer = kb.ask(question)
        used = cited_numbers(answer.text + "\n" + answer.more)
        assert list(dict.fromkeys(used)) == list(range(1, len(answer.sources) + 1)), (question, answer.text)
        assert len({(s.path, s.section) for s in answer.sources}) == len(answer.sources)
        for line in re.findall(r"[^\n]*?\[\d+\]", answer.text):  # every quoted run is in the section cited for it
            number = int(re.findall(r"\[(\d+)\]", line)[-1])
            quoted = re.sub(r"^[•\s]+|\s*\[\d+\]$", "", line).split(". ")[-1].rstrip(".")[:40]
            cited = answer.sources[number - 1]
            assert quoted in section_text(cited.path, cited.section), (question, line, cited.section)


def test_reporting_within_an_hour_is_cited_under_how_to_report(kb):
    answer = kb.ask("how quickly do I have to report an AI incident?")

    assert "1 hour" in answer.text
    number = next(int(n) for n in re.findall(r"1 hour[^\[]*\[(\d+)\]", answer.text))
    assert answer.sources[number - 1].section == "How to report"


def test_the_short_answer_is_short_and_the_rest_is_behind_more(kb):
    answer = kb.ask("how long does kestrel copilot keep my prompts")

    assert answer.answered and len(answer.text) <= SHORT_BUDGET + 20 and answer.more
    assert not set(answer.text.split("\n")) & set(answer.more.split("\n"))


# -- context only when it is needed ----------------------------------------------------------------------------------
def test_a_self_contained_question_after_another_topic_is_answered_on_its_own(kb):
    alone = kb.ask("what training do I need to do before I get access?")
    after_a_leak = kb.ask("what training do I need to do before I get access?",
                          [("I leaked a customer list into ChatGPT, what now?", "Report it within 1 hour [1].")])

    assert after_a_leak.text == alone.text and "AI Foundations" in alone.text


def test_an_off_topic_question_after_an_on_topic_one_is_refused(kb):
    answer = kb.ask("whats for lunch in the canteen today",
                    [("where do I find the AI helpdesk?", "Post in #ai-helpdesk [1].")])

    assert not answer.answered and answer.sources == ()


def test_a_follow_up_is_read_with_the_question_before_it(kb):
    alone = kb.ask("and github copilot?")
    followed = kb.ask("and github copilot?", [("can I put Confidential data into Kestrel Copilot?", "Yes [1].")])

    assert followed.answered and followed.text != alone.text
    assert "Confidential" in followed.text + followed.more


# -- don't know --------------------------------------------------------------------------------------------------------
def test_a_question_nothing_comes_close_to_names_no_document(kb):
    answer = kb.ask("whats for lunch in the canteen today")

    assert not answer.answered and answer.sources == () and "look at" not in answer.text


@pytest.mark.parametrize("earlier, question", [
    ("how do I report an AI incident?", "approved tools?"),
    ("how do I report an AI incident?", "Is there a limit on how long my prompts can be kept?"),
    ("how do I report an AI incident?", "Is there a canteen in the Leeds office?"),
    ("Can I use ChatGPT for work?", "Is there parking at the office?"),
])
def test_a_question_that_can_be_read_alone_is_answered_as_if_asked_first(kb, earlier, question):
    after = kb.ask(question, [(earlier, kb.ask(earlier).text)])

    assert (after.text, after.answered) == (kb.ask(question).text, kb.ask(question).answered)


def test_a_near_miss_suggests_at_most_two_documents_and_a_far_miss_none(kb):
    evidence = kb.retriever.retrieve("can I use Claude for work?")
    confidence = kb.abstention.confidence(evidence)
    just_above = Abstention(threshold=confidence + 0.01)  # the same evidence, as a near miss and as a far one
    far_above = Abstention(threshold=confidence + 0.5)
    near = KnowledgeBase(kb.index, kb.answerer, just_above).ask("can I use Claude for work?")
    far = KnowledgeBase(kb.index, kb.answerer, far_above).ask("can I use Claude for work?")

    assert not near.answered and 1 <= len(near.sources) <= 2 and "look at" in near.text
    assert not far.answered and far.sources == () and "look at" not in far.text

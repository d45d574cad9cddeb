"""Context only when needed: which questions lean on the one before, and how citations are renumbered."""
import pytest

from knowledge.abstain import fit_threshold, held_out_accuracy
from knowledge.answer import Answer, Source
from knowledge.base import renumbered
from knowledge.retrieve import CONTINUES, REFERS, follow_up_kind, follow_up_query

CONTINUATIONS = ["and for contractors?", "what about github copilot?", "and how long do I have?",
                 "same for the pilot group?", "or a personal laptop?", "what if it was a test key?"]
MAY_REFER_BACK = ["does it keep my prompts?", "how long?", "why?", "is that a Sev1?", "can I use it at home?",
                  "what data can I put into those tools?", "approved tools?"]
STANDALONE = ["what training do I need to do before I get access?", "whats for lunch in the canteen today",
              "is it ok to keep all my logins in a spreadsheet on my desktop?", "which tools are approved?",
              "how long does it take to get a new AI tool signed off?", "who is the CISO of the company?",
              "do I need to report a leak that happened to someone else", "what is this bot?",
              "Am I allowed to paste a customer's support ticket into Kestrel Copilot?",
              "can i use copilot from my own personal laptop at home", "Is there a limit on prompts per day?",
              "What do I do if there is a data breach?", "why do we need MFA at all?",
              "in which cases must I report an incident?", "Is it true that every prompt is logged somewhere?"]


@pytest.mark.parametrize("question", CONTINUATIONS)
def test_a_continuation_is_always_read_with_the_question_before(question):
    assert follow_up_kind(question) == CONTINUES
    assert follow_up_query(question, [("can contractors use Kestrel Copilot?", "Yes [1].")]).startswith("can contr")


@pytest.mark.parametrize("question", MAY_REFER_BACK)
def test_a_question_that_may_point_back_is_read_with_it_only_when_needed(question):
    assert follow_up_kind(question) == REFERS


@pytest.mark.parametrize("question", STANDALONE)
def test_a_question_that_stands_alone_is_read_alone(question):
    assert follow_up_kind(question) is None


def source(number: int, path: str) -> Source:
    return Source(number, path, path.title(), None, 0.5)


def test_citations_are_renumbered_by_first_use_and_uncited_sources_dropped():
    answer = Answer("q", "Report it [3]. Use Copilot [1].", True, (source(1, "a"), source(2, "b"), source(3, "c")),
                    more="Also see [2] and [3].")

    fixed = renumbered(answer)

    assert fixed.text == "Report it [1]. Use Copilot [2]." and fixed.more == "Also see [3] and [1]."
    assert [(s.number, s.path) for s in fixed.sources] == [(1, "c"), (2, "a"), (3, "b")]
    assert fixed.cited == (1, 2)  # what the short answer cites; [3] is only in the longer extract


def test_the_threshold_is_fitted_in_the_widest_gap_and_judged_on_questions_left_out():
    confidences = [0.2, 0.25, 0.3, 0.5, 0.55, 0.6]
    answerable = [False, False, False, True, True, True]

    assert fit_threshold(confidences, answerable) == pytest.approx(0.4)
    assert held_out_accuracy(confidences, answerable) == 1.0
    noisy = held_out_accuracy([0.2, 0.45, 0.3, 0.5, 0.35, 0.6], [False, False, False, True, True, True])
    assert noisy < 1.0  # a question the others' threshold gets wrong counts against it

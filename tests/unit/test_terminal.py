"""How the terminal shows answers and notices: pure functions over `Answer` and `Reply` values."""
from __future__ import annotations

import json

from bot.answering.asking import RateLimit, Reply, failed, rate_limit_text
from bot.answering.safety import find_secrets, secret_warning
from bot.answering.terminal import TerminalReplier, answer_text, chat_text, notice_text
from knowledge.answer import Answer, Source

SOURCES = (Source(1, "training.md", "AI Training", "Core modules", 0.9),
           Source(2, "faq.md", "Pilot FAQ", None, 0.7),
           Source(3, "tools.md", "Approved Tools", "List", 0.5))


def answer(answered: bool = True, cited=(1,), more: str = "", sources=SOURCES) -> Answer:
    text = "Take AI Foundations first. [1]" if answered else "I don't know."
    return Answer("What training do I need?", text, answered, sources, cited=cited, more=more)


def test_more_puts_the_longer_extract_between_the_short_answer_and_the_cited_sources():
    text = answer_text(answer(cited=(1, 3), more="It takes 45 minutes. [1]"), more=True)

    assert text == ("Take AI Foundations first. [1]\n\nMore:\nIt takes 45 minutes. [1]\n\nSources:\n"
                    "  [1] AI Training › Core modules  (training.md)\n  [3] Approved Tools › List  (tools.md)")


def test_without_more_or_without_a_longer_extract_there_is_no_more_section():
    assert "More:" not in answer_text(answer(more="It takes 45 minutes."))
    assert "More:" not in answer_text(answer(more=""), more=True)


def test_a_dont_know_offers_every_source_it_has_and_none_when_it_has_none():
    assert answer_text(answer(False, cited=(), sources=SOURCES[:2])) == (
        "I don't know.\n\nYou could look at:\n  [1] AI Training › Core modules  (training.md)\n"
        "  [2] Pilot FAQ  (faq.md)")
    assert answer_text(answer(False, cited=(), sources=())) == "I don't know."


def test_an_answer_citing_nothing_prints_no_empty_sources_heading():
    assert answer_text(answer(cited=())) == "Take AI Foundations first. [1]"


def test_chat_shows_the_answer_in_the_bots_voice_with_its_cited_sources():
    assert chat_text(answer()) == "rollout> Take AI Foundations first. [1]\n         [1] AI Training › Core modules"


def test_the_secret_warning_tells_a_terminal_user_what_to_do_there():
    text = notice_text(Reply("secret", secret_warning(find_secrets("AKIAABCDEFGHIJKLMNOP"))))

    assert text.startswith("Your message looks like it contains an AWS access key ID. I did not store it.\n")
    assert "shell history" in text and "Rotate or revoke" in text
    assert "Delete message" not in text and ":warning:" not in text and "*" not in text


def test_other_notices_lose_their_slack_markup():
    limited = notice_text(Reply("rate_limited", rate_limit_text(RateLimit.parse("20/300"))))
    assert limited.startswith("You've asked a lot of questions")
    assert limited.endswith("(ROLLOUT_RATE_LIMIT sets the limit.)")
    assert notice_text(failed("ab12cd34")).startswith("Sorry, something went wrong on my side")


def test_the_replier_counts_notices_as_failures_and_remembers_the_last_answer():
    printed: list[str] = []
    replier = TerminalReplier(printed.append, as_json=True)

    replier.send(Reply("bad_question", "Please ask a question: the text was empty."))
    replier.send(Reply("answer", "Take AI Foundations first. [1]", answer(more="More here.")))

    assert replier.failures == 1 and replier.more_text() == "More here."
    assert json.loads(printed[0]) == {"error": "Please ask a question: the text was empty."}
    assert set(json.loads(printed[1])) == {"answer", "answered", "more", "sources"}


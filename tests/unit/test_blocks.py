"""Block Kit builders: answers, notices and help within Slack's limits, checked by the fake Slack's own checker."""
from __future__ import annotations

import pytest

from bot.answering import blocks
from bot.slack import blocks as slack_blocks
from knowledge.answer import Answer, Source
from tests.fakes.block_kit import message_errors

SOURCES = (
    Source(1, "security-protocols.md", "AI Security Protocols", "Signing in", 0.8,
           "https://intranet.kestrel.example/policies/ai-security-protocols"),
    Source(2, "pilot-programme-faq.md", "AI Pilot Programme FAQ", None, 0.5, None),
    Source(3, "genai-acceptable-use.md", "Generative AI Acceptable Use Policy", "Scope", 0.4, None),
)


def answer(text: str = "Hardware keys are **required** [1].", answered: bool = True, cited=(1,)) -> Answer:
    return Answer("Do I need a key?", text, answered, SOURCES, cited=cited)


def all_text(message_blocks: list[dict]) -> str:
    texts = []
    for block in message_blocks:
        if "text" in block:
            texts.append(block["text"]["text"])
        texts += [e.get("text", "") for e in block.get("elements", []) if isinstance(e.get("text"), str)]
    return "\n".join(texts)


@pytest.mark.parametrize("markdown, mrkdwn", [
    ("**bold** and __also bold__", "*bold* and *also bold*"),
    ("*italic* but 2 * 3 * 4 stays", "_italic_ but 2 * 3 * 4 stays"),
    ("see [the policy](https://intranet.example/p?a=1&b=2)",
     "see <https://intranet.example/p?a=1&amp;b=2|the policy (intranet.example)>"),
    # A link's text always shows where it goes: one address cannot pass for another.
    ("[https://sso.kestrel.example](https://evil.example/login)",
     "<https://evil.example/login|https://sso.kestrel.example (evil.example)>"),
    ("[https://intra.example/p](https://intra.example/p) [intra.example](https://intra.example/q)",
     "<https://intra.example/p|https://intra.example/p> <https://intra.example/q|intra.example>"),
    ("write to [the desk](mailto:desk@kestrel.example)", "write to <mailto:desk@kestrel.example|the desk (desk@kestrel.example)>"),
    ("a [broken](https://[x) link", "a broken link"),  # not a URL a browser opens: never a crash, never a link
    ("[https://sso.kestrel.example](https://evil.example\\@sso.kestrel.example/)",  # browsers read \\ as /
     "https://sso.kestrel.example (https://evil.example\\@sso.kestrel.example/)"),
    ("## Reporting\n- one\n* two", "*Reporting*\n• one\n• two"),
    ("a < b & c > d", "a &lt; b &amp; c &gt; d"),
    ("~~old~~ rule", "~old~ rule"),
    ("run `**not bold**` here", "run `**not bold**` here"),
    ("cite [1] and [2].", "cite [1] and [2]."),
    ("<@U123> <!channel>", "&lt;@U123&gt; &lt;!channel&gt;"),
])
def test_markdown_becomes_slack_mrkdwn(markdown, mrkdwn):
    assert slack_blocks.to_mrkdwn(markdown) == mrkdwn


def test_an_answer_has_its_text_cited_sources_with_links_and_three_buttons():
    message = blocks.answer_blocks(answer(), conversation_id=42)

    assert message_errors({"blocks": message}) == []
    assert message[0]["text"]["text"] == "Hardware keys are *required* [1]."
    assert all_text(message[1:2]) == ("*Sources*\n[1] <https://intranet.kestrel.example/policies/"
                                      "ai-security-protocols|AI Security Protocols › Signing in>")
    actions = message[-1]
    assert [e["action_id"] for e in actions["elements"]] == list(blocks.ANSWER_ACTIONS)
    assert {e["value"] for e in actions["elements"]} == {"42"}
    assert actions["block_id"] == blocks.answer_marker(42)


def test_a_dont_know_answer_says_so_lists_the_closest_documents_and_offers_only_escalate():
    message = blocks.answer_blocks(answer("I don't know.", answered=False, cited=()), conversation_id=7)

    assert message_errors({"blocks": message}) == []
    assert "*You could look at*" in all_text(message) and "[3] Generative AI Acceptable Use Policy › Scope" in all_text(
        message)
    [escalate] = message[-1]["elements"]
    assert (escalate["action_id"], escalate["style"]) == ("escalate", "primary")


def test_notes_for_files_and_the_question_asked_come_first():
    message = blocks.answer_blocks(answer(), 1, question="Do I need <a key>?", files_note=True)

    assert message[0]["block_id"] == "files_note" and "can't read files" in all_text(message[:1])
    assert all_text(message[1:2]) == "*You asked:* Do I need &lt;a key&gt;?"


@pytest.mark.parametrize("length", [2_999, 3_001, 40_000, 400_000])
def test_long_answers_are_split_into_sections_within_slacks_limits(length):
    words = ("policy " * (length // 7 + 1))[:length]
    message = blocks.answer_blocks(answer(words), conversation_id=1)

    assert message_errors({"blocks": message}) == []
    assert len(message) <= slack_blocks.MAX_BLOCKS
    assert all(len(b["text"]["text"]) <= slack_blocks.SECTION_LIMIT for b in message if b["type"] == "section")
    if length > slack_blocks.MAX_TEXT_SECTIONS * slack_blocks.SECTION_LIMIT:
        assert "answer shortened" in all_text(message)


def test_text_without_spaces_is_cut_hard():
    assert [len(p) for p in slack_blocks.split_text("x" * 7000, 3000)] == [3000, 3000, 1000]


def test_help_lists_what_the_bot_does_and_its_commands_and_names_an_unknown_one():
    message = blocks.help_blocks([("/rollout help", "what I can do")], "20 questions every 5 minutes",
                                 unknown="teleport")

    assert message_errors({"blocks": message}) == []
    text = all_text(message)
    assert "I don't know the command `teleport`" in text
    assert "`/rollout help`: what I can do" in text and "20 questions every 5 minutes" in text


def test_notices_keep_their_mrkdwn_and_the_fallback_text_is_short():
    assert slack_blocks.notice_blocks("*Delete* it")[0]["text"]["text"] == "*Delete* it"
    assert len(slack_blocks.fallback_text("word " * 1000)) == slack_blocks.FALLBACK_LIMIT


def test_an_answer_about_incidents_offers_a_report_button_and_others_do_not():
    incident_source = Source(1, "ai-incident-response.md", "AI Incident Response Procedure", "How to report", 0.7)
    about_a_leak = Answer("I pasted a customer list into ChatGPT, what now?", "Report it within 1 hour [1].", True,
                          (incident_source,), cited=(1,))

    with_report = blocks.answer_blocks(about_a_leak, conversation_id=5)
    without = blocks.answer_blocks(answer(), conversation_id=6)

    assert message_errors({"blocks": with_report}) == []
    assert [e["action_id"] for e in with_report[-1]["elements"]] == [*blocks.ANSWER_ACTIONS, blocks.INCIDENT_REPORT]
    assert [e["action_id"] for e in without[-1]["elements"]] == list(blocks.ANSWER_ACTIONS)


def test_help_offers_the_incident_report_button():
    message = blocks.help_blocks([("/rollout help", "this help")], "20 questions per 5 minutes")

    assert message_errors({"blocks": message}) == []
    assert [e["action_id"] for e in message[-1]["elements"]] == [blocks.INCIDENT_REPORT]


def with_more(more: str) -> Answer:
    return Answer("Do I need a key?", "Hardware keys are **required** [1].", True, SOURCES, cited=(1,), more=more)


def test_an_answer_with_a_longer_extract_offers_show_more_and_expands_in_place_with_the_sources_it_cites():
    extract = "Keys are issued by **IT** [3]. Ask <@U0BOB> & <!here> at <https://evil.example|login>."

    short = blocks.answer_blocks(with_more(extract), conversation_id=42)
    expanded = blocks.answer_blocks(with_more(extract), conversation_id=42, expanded=True)

    assert message_errors({"blocks": short}) == [] and message_errors({"blocks": expanded}) == []
    assert [e["action_id"] for e in short[-1]["elements"]] == [*blocks.ANSWER_ACTIONS, blocks.SHOW_MORE]
    assert {e["value"] for e in short[-1]["elements"]} == {"42"}
    assert "IT" not in all_text(short) and [b["block_id"] for b in short] == [
        "answer_text", "answer_sources", blocks.answer_marker(42)]
    assert [b["block_id"] for b in expanded] == ["answer_text", "answer_more_divider", "answer_more",
                                                 "answer_sources", blocks.answer_marker(42)]
    assert expanded[2]["text"]["text"] == ("Keys are issued by *IT* [3]. Ask &lt;@U0BOB&gt; &amp; &lt;!here&gt; at "
                                           "&lt;https://evil.example|login&gt;.")  # never a live mention or link
    shown, more_shown = short[1]["elements"][0]["text"], expanded[3]["elements"][0]["text"]
    assert "[1] <https://intranet" in shown and "AI Pilot" not in all_text(short)
    assert "[3]" not in shown  # the short view lists only what its own text cites
    assert "[1] <https://intranet" in more_shown and "[3] Generative AI Acceptable Use Policy › Scope" in more_shown
    assert [e["action_id"] for e in expanded[-1]["elements"]] == [*blocks.ANSWER_ACTIONS, blocks.SHOW_LESS]


def test_an_answer_without_a_longer_extract_has_no_show_more_even_when_asked_to_expand():
    assert blocks.answer_blocks(with_more(""), 7, expanded=True) == blocks.answer_blocks(answer(), 7)


def test_a_long_answer_and_extract_together_stay_within_slacks_block_limit():
    long = ("A sentence of policy text that goes on. " * 80 + "\n\n") * 40
    message = blocks.answer_blocks(Answer("q", long, True, SOURCES, cited=(1,), more=long), 9, question="q",
                                   files_note=True, expanded=True)
    assert message_errors({"blocks": message}) == []
    assert message[-1]["elements"][-1]["action_id"] == blocks.SHOW_LESS


def test_a_source_whose_title_looks_like_an_address_shows_where_its_link_goes():
    plain = Source(1, "a.md", "Acceptable Use", "Approved tools", 0.5, "https://intra.example/aup")
    disguised = Source(2, "b.md", "https://sso.kestrel.example", None, 0.5, "https://evil.example/x")
    assert blocks.sources_text([plain, disguised], True).splitlines() == [
        "*Sources*", "[1] <https://intra.example/aup|Acceptable Use › Approved tools>",
        "[2] <https://evil.example/x|https://sso.kestrel.example (evil.example)>"]

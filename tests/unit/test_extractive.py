import numpy as np

from knowledge.extractive import (
    BUDGET_CHARS,
    RELEVANCE_SPAN,
    SHORT_BUDGET,
    ExtractiveAnswerer,
    compose,
    rank_sentences,
    select_sentences,
)
from knowledge.index import StoredChunk
from knowledge.retrieve import Evidence, Passage


def passage(path: str, score: float, sentences: dict[str, float]) -> Passage:
    return Passage(StoredChunk(path, " ".join(sentences), {"path": path}), score, dense=score,
                   sentence=max(sentences.values()), lexical=0.0, sentences=list(sentences),
                   sentence_scores=np.array(list(sentences.values())))


def chosen_text(ev: Evidence) -> list[str]:
    return [ev.passages[r].sentences[i] for r, i in select_sentences(ev, rank_sentences(ev, {p.path for p in ev.passages}))]


def test_sentences_far_less_relevant_than_the_best_are_left_out_though_the_budget_has_room():
    ev = Evidence("q", "q", [passage("a.md", 0.6, {"Best answer.": 0.7, "Close second.": 0.7 - RELEVANCE_SPAN / 2,
                                                   "Barely related.": 0.7 - RELEVANCE_SPAN - 0.05})], np.zeros(3))

    assert chosen_text(ev) == ["Best answer.", "Close second."]


def test_the_budget_caps_an_answer_of_equally_relevant_sentences():
    long = {f"Sentence {n} " + "x" * 200 + ".": 0.6 for n in range(20)}
    ev = Evidence("q", "q", [passage("a.md", 0.6, long)], np.zeros(3))

    assert 0 < sum(map(len, chosen_text(ev))) <= BUDGET_CHARS


def test_a_list_intro_brings_its_items_and_the_answer_reads_in_document_order():
    ev = Evidence("q", "q", [passage("a.md", 0.6, {"Unrelated preface.": 0.1, "Approved methods include:": 0.7,
                                                   "- Push notification": 0.35, "- TOTP app": 0.3})], np.zeros(3))

    picked = chosen_text(ev)

    assert picked == ["Approved methods include:", "- Push notification", "- TOTP app"]
    assert compose([(s, 1) for s in picked]) == "Approved methods include:\n• Push notification\n• TOTP app [1]"


def test_compose_cites_each_run_once_and_drops_outline_numbers():
    picked = [("a. Data is kept two years.", 1), ("i. Then it is archived.", 1), ("- Ask the owner.", 2),
              ("Exceptions need approval.", 2), ("See the annex.", 1)]

    assert compose(picked) == ("Data is kept two years. Then it is archived. [1]\n• Ask the owner.\n"
                               "Exceptions need approval. [2] See the annex. [1]")


def test_a_list_intro_whose_list_is_not_in_the_passage_is_left_out():
    ev = Evidence("q", "q", [passage("a.md", 0.6, {"Keep secrets out of prompts.": 0.6,
                                                   "Here are some examples of secrets:": 0.7})], np.zeros(3))

    assert chosen_text(ev) == ["Keep secrets out of prompts."]


def test_a_sentence_that_refers_back_comes_with_the_sentence_it_refers_to():
    ev = Evidence("q", "q", [passage("a.md", 0.6, {"Copilot stores prompts in an audit log.": 0.55,
                                                   "They are kept for 30 days and then deleted.": 0.3,
                                                   "Unrelated closing remark.": 0.1})], np.zeros(3))

    assert chosen_text(ev) == ["Copilot stores prompts in an audit log.", "They are kept for 30 days and then deleted."]


def test_an_anaphoric_best_sentence_brings_its_antecedent():
    ev = Evidence("q", "q", [passage("a.md", 0.6, {"Opening remark.": 0.05, "Copilot keeps an audit log.": 0.2,
                                                   "It is deleted after 30 days.": 0.7})], np.zeros(3))

    assert chosen_text(ev) == ["Copilot keeps an audit log.", "It is deleted after 30 days."]


def test_a_bullet_comes_with_the_sentence_that_opens_its_list():
    ev = Evidence("q", "q", [passage("a.md", 0.6, {"The following are not approved:": 0.1,
                                                   "- Personal ChatGPT accounts": 0.2,
                                                   "- Open-weight models you run yourself": 0.7})], np.zeros(3))

    assert chosen_text(ev) == ["The following are not approved:", "- Open-weight models you run yourself"]


def test_table_rows_are_as_relevant_as_the_heading_that_names_their_table():
    """Rows never say what their table is about; a table cut across two chunks is quoted from both."""
    rows = {"- Tool: Kestrel Copilot; Who may use it: everyone": 0.25,  # far below the best sentence on their own
            "- Tool: GitHub Copilot Business; Who may use it: engineers": 0.28}
    first = passage("a.md", 0.8, {"Only the tools below are approved.": 0.47, **rows})
    second = passage("a.md", 0.87, {"- Tool: Microsoft 365 Copilot; Who may use it: the pilot group": 0.56,
                                    "Having an approved tool does not mean every use is approved.": 0.43})
    elsewhere = passage("b.md", 0.83, {"If you need a tool that is not on the approved list, ask.": 0.72,
                                       "- Form: AI Tool Request; Owner: IT": 0.30})
    for part, heading in ((first, 0.93), (second, 0.93), (elsewhere, 0.40)):
        part.heading = heading
    ev = Evidence("which AI tools are approved?", "q", [second, elsewhere, first], np.zeros(3))

    picked = chosen_text(ev)

    assert set(rows) <= set(picked)
    assert "- Form: AI Tool Request; Owner: IT" not in picked  # a row under an unrelated heading stays out


def test_without_its_heading_a_row_is_ranked_by_its_own_words():
    row = "- Tool: Kestrel Copilot; Who may use it: everyone"
    ev = Evidence("q", "q", [passage("a.md", 0.8, {"The best sentence.": 0.9, row: 0.3})], np.zeros(3))

    assert chosen_text(ev) == ["The best sentence."]


def short_answer(ev: Evidence, question: str = "q"):
    from knowledge.answer import Source

    sources = [Source(n, p.path, p.path.upper(), None, 0.5) for n, p in enumerate(ev.documents, start=1)]
    return ExtractiveAnswerer().answer(question, ev, sources)


def sectioned(path: str, section: str, score: float, sentences: dict[str, float], ordinal: int = 0) -> Passage:
    p = passage(path, score, sentences)
    p.chunk.metadata.update(section=section, ordinal=ordinal)
    return p


def test_the_answer_leads_with_the_best_sentence_and_the_rest_goes_behind_show_more():
    ev = Evidence("q", "q", [passage("a.md", 0.6, {"Some background on the topic.": 0.45, "The answer is 30 days.": 0.8,
                                                   "More background.": 0.5, "Further detail.": 0.45})], np.zeros(3))

    answer = short_answer(ev)

    assert answer.text.startswith("The answer is 30 days.")
    assert "Some background on the topic." not in answer.text and "Some background on the topic." in answer.more
    assert not set(answer.text.replace(" [1]", "").split(". ")) & set(answer.more.replace(" [1]", "").split(". "))


def test_the_short_answer_stays_within_its_budget_when_many_sentences_are_as_relevant():
    long = {f"Sentence {n} " + "x" * 150 + ".": 0.6 for n in range(10)}
    answer = short_answer(Evidence("q", "q", [passage("a.md", 0.6, long)], np.zeros(3)))

    assert 0 < len(answer.text) <= SHORT_BUDGET + 10 and answer.more  # the rest is one click away


def test_a_sentence_repeated_word_for_word_is_said_once():
    same = {"If it is not labeled, its class is Internal.": 0.7}
    ev = Evidence("q", "q", [passage("a.md", 0.6, same), passage("b.md", 0.59, {**same, "Other.": 0.1})],
                  np.zeros(3))

    answer = short_answer(ev)

    assert (answer.text + answer.more).count("its class is Internal") == 1


def test_a_permission_question_leads_with_the_rule_that_decides_it():
    ev = Evidence("q", "q", [passage("a.md", 0.6, {"The helpdesk channel is staffed in office hours.": 0.62,
                                                   "Restricted data must never go into any AI tool.": 0.60})],
                  np.zeros(3))

    assert short_answer(ev, "Am I allowed to paste a support ticket into Copilot?").text.startswith("Restricted data")
    assert short_answer(ev, "When is the helpdesk channel staffed?").text.startswith("The helpdesk channel")


def test_a_table_cut_across_chunks_is_given_whole_once_in_document_order():
    intro = "Only the tools below are approved for Kestrel work."
    first = sectioned("a.md", "Approved AI tools", 0.80, {intro: 0.6, "- Tool: Kestrel Copilot; Who: everyone": 0.3,
                                                          "- Tool: GitHub Copilot; Who: engineers": 0.3}, ordinal=1)
    second = sectioned("a.md", "Approved AI tools", 0.85, {intro: 0.6, "- Tool: M365 Copilot; Who: pilot": 0.35},
                       ordinal=2)
    for part in (first, second):
        part.heading = 0.9
    ev = Evidence("which tools are approved?", "q", [second, first], np.zeros(3))

    text = short_answer(ev).text

    assert text.count(intro) == 1
    assert text.index("Kestrel Copilot") < text.index("GitHub Copilot") < text.index("M365 Copilot")


def test_sources_are_numbered_by_first_use_each_with_the_section_its_sentences_come_from():
    ev = Evidence("q", "q", [sectioned("a.md", "How to report", 0.7, {"Report within 1 hour.": 0.8}),
                             sectioned("b.md", "Other", 0.6, {"Unrelated.": 0.0}),
                             sectioned("a.md", "What counts", 0.65, {"A leaked key counts.": 0.75})], np.zeros(3))

    answer = short_answer(ev)

    assert [(s.number, s.path, s.section) for s in answer.sources] == [(1, "a.md", "How to report"),
                                                                        (2, "a.md", "What counts")]
    assert answer.cited == (1, 2)
    assert "Report within 1 hour. [1]" in answer.text and "A leaked key counts. [2]" in answer.text + answer.more


def test_a_how_long_question_leads_with_the_sentence_that_has_a_time():
    ev = Evidence("q", "q", [passage("a.md", 0.6, {"Speed matters more than a perfect report.": 0.55,
                                                   "Report within 1 hour of noticing the problem.": 0.42})],
                  np.zeros(3))

    assert short_answer(ev, "how quickly do I have to report it?").text.startswith("Report within 1 hour")
    assert short_answer(ev, "why does speed matter?").text.startswith("Speed matters")


def test_a_sentence_about_the_document_itself_does_not_lead():
    ev = Evidence("q", "q", [passage("a.md", 0.6, {"This procedure tells you how to report an incident.": 0.75,
                                                   "Post in #sec-incidents or phone the on-call line.": 0.6})],
                  np.zeros(3))

    assert short_answer(ev, "where do I report an incident?").text.startswith("Post in #sec-incidents")


def test_a_sentence_from_a_merged_short_section_is_cited_under_that_section():
    merged = sectioned("a.md", "Reporting", 0.7, {"Contact:": 0.1, "Mail ai@kestrel.example.": 0.8,
                                                   "Report within 1 hour.": 0.75})
    merged.chunk.metadata["sentence_sections"] = '["Contact", "Contact", "Reporting"]'

    answer = short_answer(Evidence("q", "q", [merged], np.zeros(3)))

    assert [(s.number, s.section) for s in answer.sources] == [(1, "Contact"), (2, "Reporting")]
    assert "Mail ai@kestrel.example. [1]" in answer.text

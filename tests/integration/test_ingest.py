"""Ingest into real embedded Chroma with the real model: every format, idempotency, changes, prune, bad input, and the
lexical index kept in step."""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from bot.cli import main
from knowledge import index as index_module
from knowledge import ingest as ingest_module
from knowledge.answer import make_answerer
from knowledge.base import KnowledgeBase
from knowledge.chunking import ABOUT_SECTION
from knowledge.index import KnowledgeIndex
from knowledge.vectors import unpack
from tests.documents import write_docx, write_markdown, write_pdf
from tests.integration.conftest import (
    FORMAT_FACTS,
    FORMAT_TITLES,
    ids_by_path,
    ingest,
    lexical_paths,
    write_every_format,
)

LONG = "Every team lead confirms in writing that their people finished the module. " * 4


def all_text(kb: KnowledgeBase) -> str:
    ids = [cid for cid, _ in kb.index.all_metadata()]
    return "\n".join(chunk.text for chunk, _ in kb.index.get(ids).values())


# -- every format ----------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def every_format_kb(tmp_path_factory, embedder) -> KnowledgeBase:
    """Read-only: the every-format folder ingested once for the tests that only look."""
    root = tmp_path_factory.mktemp("every_format")
    kb = KnowledgeBase(KnowledgeIndex(root / "data", embedder), make_answerer("extractive"))
    summary = ingest(kb, write_every_format(root / "policies"))
    assert (summary.new, summary.failed, summary.warnings) == (5, 0, [])
    return kb


def test_every_format_is_indexed_under_its_path_with_its_title(every_format_kb):
    documents = {d.path: d for d in every_format_kb.documents()}

    assert {path: d.title for path, d in documents.items()} == FORMAT_TITLES
    assert all(d.chunks == (2 if path == "handbook.md" else 1) and d.indexed_at  # + the front matter's passage
               for path, d in documents.items())


@pytest.mark.parametrize("path", sorted(FORMAT_FACTS))
def test_each_format_is_found_by_a_word_only_it_contains(every_format_kb, path):
    word, _ = FORMAT_FACTS[path]

    assert lexical_paths(every_format_kb, word) == [path]


@pytest.mark.parametrize("path, question", [
    ("handbook.md", "Who signs off on new AI tools?"),
    ("notes.txt", "What must be done to prompts before they leave my laptop?"),
    ("page.html", "Where is the list of models the security team assessed?"),
    ("guide.pdf", "How quickly must a leak be reported?"),
    ("memo.docx", "Which workshop do managers need to book?"),
])
def test_each_format_answers_a_question_about_its_own_fact(every_format_kb, path, question):
    answer = every_format_kb.ask(question)

    assert answer.sources[0].path == path
    assert answer.sources[0].title == FORMAT_TITLES[path]


def test_headings_of_markdown_html_and_docx_become_sections(every_format_kb):
    sections = {meta["path"]: meta.get("section") for _, meta in every_format_kb.index.all_metadata()
                if meta.get("section") != ABOUT_SECTION}

    assert sections == {"handbook.md": "Approved tools", "page.html": "Assessed models", "memo.docx": "Workshops",
                        "notes.txt": None, "guide.pdf": None}


def test_front_matter_is_stored_with_the_chunks(every_format_kb):
    meta = next(m for _, m in every_format_kb.index.all_metadata() if m["path"] == "handbook.md")

    assert (meta["owner"], meta["effective_date"]) == ("Legal", "2027-01-11")


def test_front_matter_is_a_passage_that_answers_questions_about_the_document(every_format_kb):
    answer = every_format_kb.ask("Who owns the acceptable use handbook?")

    assert answer.answered and "owned by Legal" in answer.text
    assert (answer.sources[0].path, answer.sources[0].section) == ("handbook.md", ABOUT_SECTION)


# -- idempotency -----------------------------------------------------------------------------------------------------
def test_second_ingest_adds_nothing_and_keeps_the_same_chunk_ids(open_kb, every_format):
    first = ingest(open_kb(), every_format)
    kb = open_kb()  # a new process would open the index afresh
    ids, generation, documents = ids_by_path(kb), kb.index.generation(), kb.documents()

    second = ingest(kb, every_format)

    assert (second.new, second.changed, second.unchanged, second.removed, second.failed) == (0, 0, 5, 0, 0)
    assert (second.chunks_added, second.chunks_removed, second.chunks_total) == (0, 0, first.chunks_total)
    assert second.line().startswith("files: 0 new, 0 changed, 5 unchanged, 0 removed, 0 skipped; chunks: +0 -0")
    assert ids_by_path(kb) == ids
    assert kb.index.generation() == generation
    assert kb.documents() == documents


def test_ingesting_the_same_folder_twice_in_one_run_counts_it_once(open_kb, every_format):
    summary = ingest(open_kb(), every_format, every_format)

    assert (summary.new, summary.failed, summary.warnings) == (5, 0, [])


# -- changes ---------------------------------------------------------------------------------------------------------
def test_changed_file_replaces_its_chunks(open_kb, every_format):
    kb = open_kb()
    ingest(kb, every_format)
    write_markdown(every_format / "handbook.md", "Acceptable Use Handbook",
                   {"Approved tools": "Kestrel Copilot is approved; the orchidwhistle panel signs off new tools."})

    summary = ingest(kb, every_format)

    assert (summary.new, summary.changed, summary.unchanged) == (0, 1, 4)
    assert "zephyrine" not in all_text(kb)
    assert lexical_paths(kb, "zephyrine") == []
    assert lexical_paths(kb, "orchidwhistle") == ["handbook.md"]
    top = kb.retriever.retrieve("Who signs off on new AI tools?").top
    assert "orchidwhistle panel" in top.chunk.text


def test_summary_counts_only_the_chunks_that_really_changed(open_kb, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    sections = {f"Part {i}": f"Part {i} rule. {LONG}" for i in range(3)}
    write_markdown(folder / "rules.md", "Rules", sections)
    kb = open_kb()
    first = ingest(kb, folder)

    write_markdown(folder / "rules.md", "Rules", dict(sections, **{"Part 1": f"Part 1 rule, revised. {LONG}"}))
    second = ingest(kb, folder)

    assert first.chunks_total == 3
    assert (second.changed, second.chunks_added, second.chunks_removed, second.chunks_total) == (1, 1, 1, 3)


def test_every_stored_vector_is_the_vector_of_its_own_text(open_kb, tmp_path, embedder, monkeypatch):
    """Ingest encodes texts longest first, in slices, and a repeated text once: each vector must land on its own
    chunk, sentence or heading."""
    monkeypatch.setattr(ingest_module, "EMBED_BATCH", 3)  # many slices from a handful of texts
    folder = tmp_path / "docs"
    folder.mkdir()
    write_markdown(folder / "rules.md", "Rules", {
        "Short": "Badges open the lab. Their manager files it.",  # said again below
        "Longer": "Every contractor signs the data handling annex before their first day. Their manager files it.",
        "Longest": f"Prompts are redacted before they leave the laptop. {LONG}Keys are rotated every ninety days.",
    })
    kb = open_kb()
    ingest(kb, folder)

    found = kb.index.get([cid for cid, _ in kb.index.all_metadata()], with_vectors=True)
    assert sum(1 + len(json.loads(chunk.metadata["sentences"])) for chunk, _ in found.values()) > 3 * 3
    for chunk, vector in found.values():
        sentences = json.loads(chunk.metadata["sentences"])
        stored = unpack(chunk.metadata["sentence_vectors"], len(vector))
        assert len(sentences) == len(stored) >= 1
        np.testing.assert_allclose(vector, embedder.encode([chunk.embedding_text])[0], atol=2e-3)  # bfloat16
        np.testing.assert_allclose(stored, embedder.encode(sentences), atol=2e-3)  # stored as float16
        heading = unpack(chunk.metadata["heading_vector"], len(vector))
        np.testing.assert_allclose(heading, embedder.encode([chunk.own_heading]), atol=2e-3)


# -- prune -----------------------------------------------------------------------------------------------------------
def test_prune_removes_the_chunks_of_deleted_files_and_keeps_the_rest(open_kb, every_format):
    kb = open_kb()
    ingest(kb, every_format)
    kept = {path: ids for path, ids in ids_by_path(kb).items() if path != "notes.txt"}
    (every_format / "notes.txt").unlink()

    summary = ingest(kb, every_format, prune=True)

    assert (summary.removed, summary.unchanged, summary.chunks_removed) == (1, 4, 1)
    assert ids_by_path(kb) == kept
    assert lexical_paths(kb, "quillfeather") == []
    assert lexical_paths(open_kb(), "quillfeather") == []


def test_without_prune_the_chunks_of_a_deleted_file_stay(open_kb, every_format):
    kb = open_kb()
    ingest(kb, every_format)
    (every_format / "notes.txt").unlink()

    summary = ingest(kb, every_format)

    assert summary.removed == 0
    assert "notes.txt" in ids_by_path(kb)


def test_prune_keeps_documents_ingested_from_another_folder(open_kb, tmp_path, every_format):
    other = tmp_path / "other"
    other.mkdir()
    write_markdown(other / "travel.md", "Travel", {"Trains": f"Book trains through the portal. {LONG}"})
    kb = open_kb()
    ingest(kb, every_format)
    ingest(kb, other)

    summary = ingest(kb, every_format, prune=True)

    assert summary.removed == 0
    assert set(ids_by_path(kb)) == set(FORMAT_FACTS) | {"travel.md"}


# -- bad input -------------------------------------------------------------------------------------------------------
def make_corrupt_pdf(path: Path) -> None:
    path.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntruncated")


def make_corrupt_docx(path: Path) -> None:
    path.write_bytes(b"PK\x03\x04this is not a zip archive")


def make_binary_txt(path: Path) -> None:
    path.write_bytes(bytes(range(256)) * 4)


def make_unsupported_png(path: Path) -> None:
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")


def make_unreadable(path: Path) -> None:
    # chmod 000 does not stop root; /proc/self/mem is a regular file that fails with EIO when read from offset 0.
    os.symlink("/proc/self/mem", path)


def make_dangling_link(path: Path) -> None:
    os.symlink(path.parent / "moved-away.md", path)


def make_empty_md(path: Path) -> None:
    path.write_text("---\ntitle: Nothing yet\n---\n\n")


BAD_FILES = [
    pytest.param("broken.pdf", make_corrupt_pdf, "corrupt or unreadable", id="corrupt-pdf"),
    pytest.param("broken.docx", make_corrupt_docx, "corrupt or unreadable", id="corrupt-docx"),
    pytest.param("binary.txt", make_binary_txt, "cannot be read", id="binary-txt"),
    pytest.param("diagram.png", make_unsupported_png, "unsupported file type '.png'", id="unsupported-png"),
    pytest.param("unreadable.md", make_unreadable, "links outside", id="unreadable",  # a link out: never followed
                 marks=pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc/self/mem")),
    pytest.param("dangling.md", make_dangling_link, "cannot be read", id="dangling-symlink"),
    pytest.param("empty.md", make_empty_md, "contains no text", id="empty-md"),
]


@pytest.mark.parametrize("name, make_bad, reason", BAD_FILES)
def test_bad_file_is_named_in_a_warning_and_the_rest_is_ingested(open_kb, every_format, name, make_bad, reason):
    make_bad(every_format / name)
    kb = open_kb()

    summary = ingest(kb, every_format)

    assert len(summary.warnings) == 1
    assert str(every_format / name) in summary.warnings[0]
    assert reason in summary.warnings[0]
    assert (summary.new, summary.failed) == (5, 1)
    assert set(ids_by_path(kb)) == set(FORMAT_FACTS)
    assert ", 1 skipped;" in summary.line()


@pytest.mark.parametrize("name, make_bad", [("guide.pdf", make_corrupt_pdf), ("memo.docx", make_corrupt_docx),
                                            ("notes.txt", make_binary_txt)])
def test_file_that_turns_bad_keeps_its_indexed_chunks(open_kb, every_format, name, make_bad):
    kb = open_kb()
    ingest(kb, every_format)
    before = ids_by_path(kb)
    (every_format / name).unlink()
    make_bad(every_format / name)

    summary = ingest(kb, every_format, prune=True)

    assert summary.warnings == [summary.warnings[0]]
    assert summary.warnings[0].startswith(str(every_format / name))
    assert "its indexed version is kept" in summary.warnings[0]
    assert (summary.failed, summary.unchanged, summary.removed) == (1, 4, 0)
    assert ids_by_path(kb) == before
    assert lexical_paths(kb, FORMAT_FACTS[name][0]) == [name]


def test_a_folder_named_like_a_document_is_walked_not_read(open_kb, tmp_path):
    folder = tmp_path / "docs"
    (folder / "archive.md").mkdir(parents=True)
    write_markdown(folder / "archive.md" / "old.md", "Old", {"History": f"The pilot began in 2026. {LONG}"})

    summary = ingest(open_kb(), folder)

    assert (summary.new, summary.failed, summary.warnings) == (1, 0, [])


def test_two_files_claiming_the_same_path_in_one_run_are_not_silently_dropped(open_kb, tmp_path):
    for team in ("team-a", "team-b"):
        (tmp_path / team).mkdir()
        write_markdown(tmp_path / team / "policy.md", f"{team} policy", {"Rules": f"{team} rules. {LONG}"})

    summary = ingest(open_kb(), tmp_path / "team-a", tmp_path / "team-b")

    assert (summary.new, summary.failed) == (1, 1)
    assert str(tmp_path / "team-b" / "policy.md") in summary.warnings[0]
    assert "policy.md" in summary.warnings[0]


# -- the ingest command: exit code and summary line ------------------------------------------------------------------
@pytest.fixture
def run_cli(tmp_path, monkeypatch, embedder):
    """Run `rollout ...` in-process (same model, real click command) with ROLLOUT_DATA_DIR in a temp dir."""
    monkeypatch.setenv("ROLLOUT_DATA_DIR", str(tmp_path / "cli-data"))
    monkeypatch.delenv("CHROMA_URL", raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env

    def run(*args: str):
        return CliRunner().invoke(main, list(args), catch_exceptions=False)

    return run


def test_ingest_command_prints_the_summary_and_exits_zero_when_some_files_were_read(run_cli, every_format):
    make_corrupt_pdf(every_format / "broken.pdf")

    result = run_cli("ingest", str(every_format))

    assert result.exit_code == 0
    assert result.stdout.splitlines()[-1] == (
        "files: 5 new, 0 changed, 0 unchanged, 0 removed, 1 skipped; chunks: +6 -0, 6 indexed")
    assert f"warning: {every_format / 'broken.pdf'}: corrupt or unreadable" in result.stderr


def test_ingest_command_exits_zero_when_everything_is_unchanged(run_cli, every_format):
    run_cli("ingest", str(every_format))

    result = run_cli("ingest", str(every_format))

    assert result.exit_code == 0
    assert result.stdout.startswith("files: 0 new, 0 changed, 5 unchanged")


def test_ingest_command_fails_when_nothing_could_be_read(run_cli, tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    make_corrupt_pdf(folder / "broken.pdf")
    make_unsupported_png(folder / "diagram.png")

    result = run_cli("ingest", str(folder))

    assert result.exit_code != 0
    assert f"nothing could be read from {folder}" in result.stderr
    assert str(folder / "broken.pdf") in result.stderr
    assert str(folder / "diagram.png") in result.stderr


def test_ingest_command_fails_for_a_path_that_does_not_exist(run_cli, tmp_path):
    result = run_cli("ingest", str(tmp_path / "nowhere"))

    assert result.exit_code != 0
    assert f"{tmp_path / 'nowhere'}: no such file or folder" in result.stderr


# -- the lexical index stays in step ---------------------------------------------------------------------------------
def test_word_from_a_newly_ingested_file_is_found_right_after_ingest(open_kb, every_format):
    kb = open_kb()
    ingest(kb, every_format)
    assert kb.index.lexical_search("lanternwick", 5) == []
    write_pdf(every_format / "late.pdf", "Late Addition", {"Badges": "Visitors wear the lanternwick badge."})

    ingest(kb, every_format)

    assert lexical_paths(kb, "lanternwick") == ["late.pdf"]
    assert lexical_paths(open_kb(), "lanternwick") == ["late.pdf"]


def test_index_opened_before_an_ingest_sees_the_new_word_after_its_check_interval(open_kb, every_format):
    writer, reader = open_kb(), open_kb()
    ingest(writer, every_format)
    assert lexical_paths(reader, "lanternwick") == []  # the reader has built its lexical index now
    write_docx(every_format / "late.docx", "Late Addition", {"Badges": "Visitors wear the lanternwick badge."})

    ingest(writer, every_format)
    time.sleep(index_module.GENERATION_CHECK_SECONDS)

    assert lexical_paths(reader, "lanternwick") == ["late.docx"]


# -- chunks read for scoring are cached until the index changes -------------------------------------------------------
def _retitle(folder: Path, title: str) -> None:
    write_markdown(folder / "retitled.md", title, {"Badges": f"Visitors wear the quillmoss badge at reception. {LONG}"})


def test_a_retitled_document_is_cited_under_its_new_title_right_after_ingest(open_kb, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    _retitle(folder, "Visitor Rules")
    kb = open_kb()
    ingest(kb, folder)
    assert kb.ask("which badge do visitors wear?").sources[0].title == "Visitor Rules"

    _retitle(folder, "Visitor Handbook")  # same body, so the same chunk ids, new metadata
    ingest(kb, folder)

    assert kb.ask("which badge do visitors wear?").sources[0].title == "Visitor Handbook"


def test_another_process_sees_the_new_title_after_its_check_interval(open_kb, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    _retitle(folder, "Visitor Rules")
    writer, reader = open_kb(), open_kb()
    ingest(writer, folder)
    assert reader.ask("which badge do visitors wear?").sources[0].title == "Visitor Rules"

    _retitle(folder, "Visitor Handbook")
    ingest(writer, folder)
    time.sleep(index_module.GENERATION_CHECK_SECONDS)

    assert reader.ask("which badge do visitors wear?").sources[0].title == "Visitor Handbook"


def test_a_section_whose_heading_names_the_question_outranks_one_that_only_mentions_its_words(open_kb, tmp_path):
    # The rows of a table rarely repeat what the table is about: its heading says it. Requesting a new tool mentions
    # "the approved list" in a sentence, and without the heading as a cue it came first.
    folder = tmp_path / "docs"
    folder.mkdir()
    write_markdown(folder / "aup.md", "Acceptable Use", {
        "Approved AI tools": "| Tool | Who may use it | Where |\n| --- | --- | --- |\n"
                             "| Kestrel Copilot | Everyone whose team has reached its phase | Web and Slack |\n"
                             "| GitHub Copilot Business | Engineering staff with an assigned seat | Supported IDEs |\n"
                             "| Otter Notes | The sales team, for customer calls they lead | Zoom and Teams |",
        "Requesting a new AI tool": "If you need a tool that is not on the approved list, submit the request form "
                                    "on the IT portal. The governance board reviews each request and decides within "
                                    "ten business days; it may approve a tool for a limited group or decline it.",
    })
    kb = open_kb()
    ingest(kb, folder)

    answer, evidence = kb.ask_with_evidence("which AI tools are approved?")

    assert evidence.top.chunk.metadata["section"] == "Approved AI tools"
    assert answer.answered and "Kestrel Copilot" in answer.text


def test_a_link_out_of_the_folder_given_is_not_followed(open_kb, tmp_path):
    outside, folder = tmp_path / "outside", tmp_path / "policies"
    outside.mkdir()
    folder.mkdir()
    write_markdown(outside / "secret-plans.md", "Secret Plans", {"Plans": "The quorvex merger closes in May."})
    write_markdown(folder / "handbook.md", "Handbook", {"Tools": "Kestrel Copilot is approved for all staff."})
    (folder / "plans.md").symlink_to(outside / "secret-plans.md")
    (folder / "elsewhere").symlink_to(outside, target_is_directory=True)
    warnings: list[str] = []

    summary = open_kb().ingest([folder], warn=warnings.append)

    assert summary.files_read == 1 and {d.path for d in open_kb().documents()} == {"handbook.md"}
    assert any("plans.md" in w and "links outside" in w for w in warnings)  # named, so nobody wonders where it went


def test_a_document_too_long_or_that_unzips_too_far_is_skipped_with_a_warning(open_kb, tmp_path):
    import zipfile

    from knowledge.loaders import MAX_TEXT_CHARS, MAX_UNZIPPED_BYTES

    folder = tmp_path / "docs"
    folder.mkdir()
    write_markdown(folder / "ok.md", "Fine", {"Tools": "Kestrel Copilot is approved for all staff."})
    write_markdown(folder / "long.md", "Long", {"Body": "Policy text that goes on. " * (MAX_TEXT_CHARS // 20)})
    with zipfile.ZipFile(folder / "bomb.docx", "w", zipfile.ZIP_DEFLATED) as bomb:  # tiny on disk, huge unzipped
        bomb.writestr("word/document.xml", "<w:t>" + "a" * (MAX_UNZIPPED_BYTES + 1) + "</w:t>")
    assert (folder / "bomb.docx").stat().st_size < 1_000_000
    warnings: list[str] = []

    summary = open_kb().ingest([folder], warn=warnings.append)

    assert summary.files_read == 1 and {d.path for d in open_kb().documents()} == {"ok.md"}
    assert any("long.md" in w and f"more than the {MAX_TEXT_CHARS:,}" in w for w in warnings)
    assert any("bomb.docx" in w and "unzips to" in w for w in warnings)


# -- pypdf's own log lines -------------------------------------------------------------------------------------------
def write_pdf_with_a_wrong_xref_pointer(path: Path) -> Path:
    """A PDF pypdf reads all the same, after logging that it repaired it ("incorrect startxref pointer")."""
    write_pdf(path, "Leak guide", {"Reporting": "Report leaks to the Security Desk within one hour."})
    data = path.read_bytes()
    pointer = data.rindex(b"startxref") + len(b"startxref\n")
    end = data.index(b"\n", pointer)
    path.write_bytes(data[:pointer] + str(int(data[pointer:end]) + 7).encode() + data[end:])
    return path


def test_pypdf_repairs_stay_out_of_ingest_output_and_in_the_debug_log(run_cli, tmp_path, caplog):
    import logging

    folder = tmp_path / "pdfs"
    folder.mkdir()
    write_pdf_with_a_wrong_xref_pointer(folder / "guide.pdf")
    caplog.set_level(logging.DEBUG, logger="knowledge.loaders")

    result = run_cli("ingest", str(folder))

    assert result.exit_code == 0 and result.stdout.startswith("files: 1 new"), result.output
    assert "pypdf" not in result.stderr and "startxref" not in result.stderr
    assert not [r for r in caplog.records if r.name.startswith("pypdf")]  # nothing reaches the root handler
    assert any("pypdf: incorrect startxref pointer" in r.getMessage() and r.levelno == logging.DEBUG
               for r in caplog.records if r.name == "knowledge.loaders")


# -- rollout forget --------------------------------------------------------------------------------------------------
def test_forget_removes_one_document_whose_file_stays_until_it_is_ingested_again(run_cli, every_format):
    assert run_cli("ingest", str(every_format)).exit_code == 0

    forgot = run_cli("forget", str(every_format / "notes.txt"))
    listed = run_cli("sources").stdout

    assert forgot.exit_code == 0 and forgot.stdout == "Forgot notes.txt (1 chunk); its file is untouched.\n"
    assert (every_format / "notes.txt").exists()
    assert "notes.txt" not in listed and "handbook.md" in listed and "4 documents" in listed
    again = run_cli("forget", str(every_format / "notes.txt"))
    assert again.exit_code == 1 and again.stderr == (
        f"Error: {every_format / 'notes.txt'} is not indexed: `rollout sources` lists what is\n")
    by_listed_name = run_cli("forget", "memo.docx")  # as `rollout sources` names it
    assert by_listed_name.exit_code == 0 and "Forgot memo.docx" in by_listed_name.stdout
    # Nothing else brings a forgotten document back: ingesting another file, or pruning ...
    write_markdown(every_format.parent / "other.md", "Other", {"Scope": "Another policy entirely."})
    assert run_cli("ingest", str(every_format.parent / "other.md"), "--prune").exit_code == 0
    assert "notes.txt" not in run_cli("sources").stdout
    # ... but ingesting its folder (or the file) again does: it is a new file to the index.
    reingested = run_cli("ingest", str(every_format))
    assert reingested.stdout.startswith("files: 2 new, 0 changed, 3 unchanged"), reingested.output
    assert "notes.txt" in run_cli("sources").stdout


def test_forgetting_several_checks_them_all_first(run_cli, every_format):
    assert run_cli("ingest", str(every_format)).exit_code == 0

    refused = run_cli("forget", str(every_format / "notes.txt"), "nowhere.md")

    assert refused.exit_code == 1 and "nowhere.md is not indexed" in refused.stderr
    assert "notes.txt" in run_cli("sources").stdout  # nothing was removed


def test_a_forgotten_document_is_no_longer_found_by_its_words(open_kb, every_format):
    kb = open_kb()
    ingest(kb, every_format)
    word, _ = FORMAT_FACTS["notes.txt"]
    assert lexical_paths(kb, word) == ["notes.txt"]

    kb.forget([every_format / "notes.txt"])

    assert "notes.txt" not in lexical_paths(kb, word) and "notes.txt" not in ids_by_path(kb)


def test_forget_records_recalls_first_and_removes_nothing_when_it_cannot(run_cli, every_format, monkeypatch):
    assert run_cli("ingest", str(every_format)).exit_code == 0
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://rollout@127.0.0.1:1/rollout")  # nowhere

    refused = run_cli("forget", str(every_format / "notes.txt"))

    assert refused.exit_code == 1 and refused.stderr.startswith("Error: cannot open the database at ")
    assert "policy-change recalls could not be recorded, so the index was not changed" in refused.stderr
    monkeypatch.delenv("DATABASE_URL")
    assert "notes.txt" in run_cli("sources").stdout

"""The knowledge commands: `rollout ingest|forget|sources` keep the index, `rollout ask|chat` answer from it as Slack
does (recorded, source terminal), `rollout eval` measures it. Added to `rollout` through answering's feature
(bot/answering/feature.py)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from bot.cli_context import Context, llm_options, pass_context
from bot.recall import cli as cli_recall


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--prune", is_flag=True, help="Remove documents whose files are gone.")
@pass_context
def ingest(obj: Context, paths: tuple[Path, ...], prune: bool):
    """Index policy documents (.md .txt .html .pdf .docx; folders recursively).

    Recent answers citing a section this changes are recorded for `rollout recall` before the index changes."""
    summary = obj.knowledge_base().ingest(paths, prune=prune,
                                          on_changes=lambda changes: cli_recall.record_ingest_changes(obj, changes))
    click.echo(summary.line())
    cli_recall.report_recalls(obj)
    if summary.files_read == 0 and not summary.removed:
        raise click.ClickException("nothing could be read from " + ", ".join(str(p) for p in paths))


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@pass_context
def forget(obj: Context, paths: tuple[Path, ...]):
    """Remove documents from the index; their files stay (`rollout ingest` of them adds them back)."""
    forgotten = obj.knowledge_base().forget(paths,
                                            on_changes=lambda changes: cli_recall.record_ingest_changes(obj, changes))
    for doc in forgotten:
        click.echo(f"Forgot {doc.path} ({doc.chunks} chunk{'' if doc.chunks == 1 else 's'}); its file is untouched.")
    cli_recall.report_recalls(obj)


@click.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
@click.option("--more", is_flag=True, help="Also print the longer extract behind the short answer.")
@click.option("--as-audience", "as_audiences", multiple=True, metavar="NAME",
              help="Answer as someone in this document audience (repeatable), e.g. --as-audience pilot.")
@pass_context
def ask(obj: Context, question: str, as_json: bool, more: bool, as_audiences: tuple[str, ...]):
    """Answer a question from the indexed documents ('-' reads one question per line from stdin).

    Screened, redacted and recorded (source terminal) as in Slack; every question starts its own thread.
    """
    from bot.answering.terminal import TerminalReplier, TerminalSession, answer_lines
    from knowledge.base import validate_question

    if question != "-":
        validate_question(question)  # refuse an empty or oversized question before the model is loaded
    audiences = _audiences(as_audiences)
    session = TerminalSession(obj.asking(), threaded=False, audiences=audiences)
    replier = TerminalReplier(as_json=as_json, more=more)
    if question == "-":
        answer_lines(session, sys.stdin, replier, echo_questions=not as_json)
    else:
        session.ask(question, replier)
    if replier.failures:
        sys.exit(1)


def _audiences(names: tuple[str, ...]) -> tuple[str, ...]:
    from bot.comms.errors import BadTarget
    from bot.comms.memberships import audience_name

    try:
        return tuple(dict.fromkeys(audience_name(n) for n in names))
    except BadTarget as exc:
        raise click.BadParameter(str(exc), param_hint="--as-audience") from exc


@click.command()
@pass_context
def sources(obj: Context):
    """List indexed documents with their chunk counts and when they were indexed."""
    documents = obj.knowledge_base().documents()
    if not documents:
        click.echo("No documents indexed yet. Run: rollout ingest knowledge/policies")
        return
    width = max(len(d.path) for d in documents)
    for doc in documents:
        click.echo(f"{doc.path:<{width}}  {doc.chunks:>4} chunks  {doc.indexed_at}  {doc.title}")
    click.echo(f"{len(documents)} documents, {sum(d.chunks for d in documents)} chunks")


@click.command(name="eval")
@click.option("--dataset", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Questions (JSONL).")
@click.option("--corpus", required=True, type=click.Path(exists=True, path_type=Path), help="Folder of documents.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--details", is_flag=True, help="Include per-question results.")
@pass_context
def evaluate(obj: Context, dataset: Path, corpus: Path, as_json: bool, details: bool):
    """Ingest CORPUS into a temporary store and report retrieval, abstention and answer quality."""
    from bot.comms.memberships import PILOT
    from knowledge.base import KnowledgeBase
    from knowledge.embeddings import shared_embedder
    from knowledge.evaluate import evaluate_corpus

    s = obj.settings

    def open_kb(data_dir: Path):
        kb = KnowledgeBase.open(data_dir, embedding_model=s.rollout_embedding_model, answerer=s.rollout_answerer,
                                **llm_options(s))
        kb.known_audiences = lambda: {PILOT}  # as a workspace with no audiences of its own (knowledge/audiences.py)
        return kb

    shared_embedder(s.rollout_embedding_model).load()  # load the model before the clock starts
    report = evaluate_corpus(dataset, corpus, open_kb)
    click.echo(json.dumps(report.to_json(details), indent=2) if as_json else report.text())


@click.command()
@pass_context
def chat(obj: Context):
    """An interactive terminal chat over the same answer pipeline as Slack, recorded as source terminal.

    Line editing and history (kept in the data dir); the model loads while the prompt waits for the first question.
    """
    from bot.answering.terminal import TerminalSession, run_chat
    from bot.answering.terminal_input import HISTORY_FILE, LineReader, Warming

    session = TerminalSession(obj.asking())
    warming = Warming(obj.knowledge_base().warm_up).start()
    run_chat(session, read=LineReader(obj.settings.data_dir / HISTORY_FILE), warming=warming)


COMMANDS = (ingest, forget, ask, sources, evaluate, chat)

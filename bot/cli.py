"""`rollout`: a thin layer of commands; each reads settings, builds a service and calls it."""
from __future__ import annotations

import gc
import json
import os
import sys
from pathlib import Path

import click

from bot.features import FEATURES
from bot.recall import cli as cli_recall
from bot.cli_context import Context, llm_options, pass_context

# Nothing may reach for a model hub at run time; set before any model library is imported.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")




class RolloutGroup(click.Group):
    """Every command runs in here: any exception becomes one clear line and a non-zero exit (bot/cli_errors.py),
    never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except Exception as exc:
            from bot.cli_errors import explain

            settings = getattr(ctx.obj, "settings", None)
            raise click.ClickException(explain(exc, settings)) from exc
        finally:
            # The command's objects (model, index) die with the process: spare the interpreter's final collection
            # from walking them (measured 1.6-2.0 s after `rollout ask` printed its answer; 0.25 s frozen).
            gc.freeze()


@click.group(cls=RolloutGroup)
@click.version_option(package_name="rollout", prog_name="rollout")
@click.pass_context
def main(ctx):
    """Rollout: answers employees' questions about generative-AI policies, in Slack and here."""
    from bot.logs import LogFormatError, configure

    try:
        configure(os.environ.get("ROLLOUT_LOG_LEVEL", "WARNING"), os.environ.get("ROLLOUT_LOG_FORMAT"))
    except (LogFormatError, ValueError) as exc:  # ValueError: logging's own, for an unknown ROLLOUT_LOG_LEVEL
        raise click.ClickException(str(exc)) from exc
    ctx.obj = Context()
    ctx.call_on_close(ctx.obj.close)


@main.command()
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


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@pass_context
def forget(obj: Context, paths: tuple[Path, ...]):
    """Remove documents from the index; their files stay (`rollout ingest` of them adds them back)."""
    forgotten = obj.knowledge_base().forget(paths,
                                            on_changes=lambda changes: cli_recall.record_ingest_changes(obj, changes))
    for doc in forgotten:
        click.echo(f"Forgot {doc.path} ({doc.chunks} chunk{'' if doc.chunks == 1 else 's'}); its file is untouched.")
    cli_recall.report_recalls(obj)


@main.command()
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


@main.command()
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


@main.command(name="eval")
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


@main.command()
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


@main.command()
@click.option("--http", "http", is_flag=True, help="Serve Slack's HTTP requests at POST /slack/events instead of "
              "connecting over Socket Mode (needs SLACK_SIGNING_SECRET instead of SLACK_APP_TOKEN).")
@click.option("--port", type=click.IntRange(0, 65535), default=3000, show_default=True, help="Port for --http.")
@click.option("--host", default="0.0.0.0", show_default=True, help="Address for --http.")
@click.option("--no-scheduler", is_flag=True, help="Leave scheduled jobs to a separate `rollout scheduler`.")
@pass_context
def serve(obj: Context, http: bool, port: int, host: str, no_scheduler: bool):
    """Run the Slack bot: Socket Mode by default, or an HTTP server with --http."""
    from bot.slack.server import run

    run(obj.settings, http=http, host=host, port=port, open_knowledge_base=obj.knowledge_base, echo=click.echo,
        scheduler=not no_scheduler)


@main.command()
@pass_context
def start(obj: Context):
    """Run the Slack bot when credentials are set, else the terminal chat."""
    s = obj.settings
    if s.slack_bot_token and (s.slack_app_token or s.slack_signing_secret):
        ctx = click.get_current_context()
        ctx.invoke(main.get_command(ctx, "serve"), http=not s.slack_app_token)
        return
    click.echo("No Slack credentials (SLACK_BOT_TOKEN + SLACK_APP_TOKEN) are set, so here is the terminal chat.\n"
               "See README, 'Create the Slack app in two minutes', to run Rollout in Slack.\n")
    run = main.get_command(click.get_current_context(), "chat")
    click.get_current_context().invoke(run)


@main.command()
def demo():
    """Try the Slack flows without a workspace: the bot in HTTP mode against a local fake Slack.

    Walks a question, a 👎, an escalation, an incident and an announcement on the sample policies, in a throwaway
    data dir, and prints what the employee, the helpdesk, security and the comms team would see. No credentials,
    nothing leaves this machine.
    """
    import tempfile

    from bot.demo import run_demo

    with tempfile.TemporaryDirectory(prefix="rollout-demo-") as workdir:
        run_demo(Path(workdir), click.echo)


# Every feature's command groups (bot/features.py; they import nothing from this module): pilot feedback (pilot,
# survey, feedback, report), the helpdesk (tickets, faq, audit), deployment communications (scheduler, announce,
# plan, ack, audiences), policy-change recall and channel settings (channels).
for _feature in FEATURES:
    for _command in _feature.commands():
        main.add_command(_command)

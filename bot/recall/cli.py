"""`rollout recall preview|send|list`: policy-change recalls waiting for approval, approving and sending them, and
their history. Thin commands over bot/recall/recalls.py; `rollout ingest` records the recalls
(`record_ingest_changes`)."""
from __future__ import annotations

import html
import json

import click

from bot.cli_context import Context, pass_context
from bot.recall.recalls import RecallError
from bot.recall.tables import MESSAGE_STATUSES

PREVIEWED = ("pending", "approved", "failed")  # what `send` would send


def record_ingest_changes(obj: Context, changes) -> None:
    """`rollout ingest`'s (and `rollout forget`'s) hook, before the index changes: store the recalls its changes call for, or stop the ingest."""
    try:
        stats = obj.runtime().recalls.record(changes)
    except Exception as exc:  # the index is left as it was: nothing is lost by stopping here
        from bot.cli_errors import explain

        raise click.ClickException(f"{explain(exc, obj.settings)}; policy-change recalls could not be recorded, so "
                                   "the index was not changed. Fix it and run the command again.") from exc
    obj.recall_runs.append(stats)


def report_recalls(obj: Context) -> None:
    """After an ingest: what it recorded, and with ROLLOUT_RECALL_AUTO=1 send it at once."""
    for stats in obj.recall_runs:
        if not stats.answers and not stats.faq_entries:
            continue
        click.echo(f"recall run {stats.run_id}: {stats.answers} answers of {stats.people} people rely on changed "
                   f"sections; {stats.faq_entries} FAQ entries to review")
        if not obj.settings.rollout_recall_auto:
            click.echo("  preview with `rollout recall preview`, send with `rollout recall send`")
            continue
        try:
            click.echo("  " + obj.runtime().recalls.send("auto", stats.run_id).line())
        except RecallError as exc:
            click.echo(f"warning: ROLLOUT_RECALL_AUTO is set but {exc} They are stored: `rollout recall send`.",
                       err=True)


@click.group()
def recall():
    """Tell people when a policy section their answer relied on changed."""


@recall.command("preview")
@click.option("--run", "run_id", help="Only this ingest run's messages.")
@click.option("--json", "as_json", is_flag=True, help="Print the messages as JSON.")
@pass_context
def recall_preview(obj: Context, run_id: str | None, as_json: bool):
    """The messages `rollout recall send` would send, as they would read."""
    from bot.answering.terminal import plain

    previews = obj.runtime().recalls.previews(PREVIEWED, run_id)
    if as_json:
        click.echo(json.dumps([{"message_id": p.message_id, "run": p.run_id, "kind": p.kind, "to": p.recipient,
                                "status": p.status, "answers": p.answers, "blocks": p.blocks} for p in previews],
                              indent=2, ensure_ascii=False))
        return
    for p in previews:
        what = "FAQ entries" if p.kind == "helpdesk" else "answers"
        click.echo(f"--- message {p.message_id} (run {p.run_id}, {p.status}) to {p.recipient}: {p.answers} {what}")
        click.echo(html.unescape(plain("\n".join(_texts(p.blocks)))))
    click.echo(f"{len(previews)} messages to send" if previews else "Nothing waiting to be sent.")


@recall.command("send")
@click.option("--run", "run_id", help="Only this ingest run's messages.")
@pass_context
def recall_send(obj: Context, run_id: str | None):
    """Approve the messages waiting (of one run) and send them; retries those that failed. Each is sent once."""
    result = obj.runtime().recalls.send("cli", run_id)
    click.echo(result.line())
    for failure in result.failed:
        click.echo(f"  failed: {failure}", err=True)
    if result.failed:
        raise SystemExit(1)


@recall.command("list")
@click.option("--status", type=click.Choice(MESSAGE_STATUSES), help="Only messages in this state.")
@pass_context
def recall_list(obj: Context, status: str | None):
    """Every recall message: id, run, to whom, state, how many answers, when sent or why it failed."""
    previews = obj.runtime().recalls.previews([status] if status else MESSAGE_STATUSES)
    for p in previews:
        when = f"sent {p.sent_at:%Y-%m-%d %H:%M}" if p.sent_at else (p.last_error or "")
        what = "FAQ entries" if p.kind == "helpdesk" else "answers"
        click.echo(f"{p.message_id}  {p.run_id}  {p.recipient}  {p.status:<10}  {p.answers} {what}  {when}".rstrip())
    if not previews:
        click.echo("No recalls yet: they are recorded when `rollout ingest` changes a section recent answers cited.")


def _texts(blocks: list[dict]) -> list[str]:
    texts = []
    for block in blocks:
        if isinstance(block.get("text"), dict):
            texts.append(block["text"]["text"])
        texts += [e.get("text", "") for e in block.get("elements", []) if e.get("type") == "mrkdwn"]
        if block.get("type") == "actions":
            texts.append("[" + "] [".join(e["text"]["text"] for e in block["elements"]) + "]")
    return texts


COMMANDS = (recall,)

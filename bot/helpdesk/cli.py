"""`rollout tickets list`, `rollout faq list|remove` and `rollout audit`: thin commands over the helpdesk store."""
from __future__ import annotations

from datetime import datetime

import click

from bot.cli_context import SINCE, Context, pass_context
from bot.helpdesk.audit import audit_line
from bot.helpdesk.store import HelpdeskStore
from bot.helpdesk.tables import TICKET_STATUSES


def helpdesk_store(obj: Context) -> HelpdeskStore:
    """The store over the runtime's database (DATABASE_URL, migrated)."""
    return obj.runtime().helpdesk_store


@click.group()
def tickets():
    """Helpdesk tickets."""


@tickets.command("list")
@click.option("--status", type=click.Choice(TICKET_STATUSES), help="Only tickets in this state.")
@pass_context
def tickets_list(obj: Context, status: str | None):
    """Tickets, oldest first, and how many are in each state."""
    store = helpdesk_store(obj)
    found = store.tickets(status)
    rows = [(f"#{t.id}", t.status, f"{t.created_at:%Y-%m-%d %H:%M}", t.user_id, t.resolved_by or t.claimed_by or "-",
             f"rated {t.rating}" if t.rating else "unrated", t.question[:70]) for t in found]
    if rows:
        header = ("TICKET", "STATUS", "CREATED (UTC)", "ASKED BY", "AGENT", "RATING", "QUESTION")
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
        for row in [header, *rows]:
            click.echo("  ".join(f"{cell:<{w}}" for cell, w in zip(row, widths)) + "  " + row[-1])
    else:
        click.echo(f"No {status + ' ' if status else ''}tickets.")
    counts = store.ticket_counts()
    click.echo(", ".join(f"{counts.get(s, 0)} {s}" for s in TICKET_STATUSES))


@click.group()
def faq():
    """Helpdesk FAQ entries in the knowledge base."""


@faq.command("list")
@pass_context
def faq_list(obj: Context):
    """FAQ entries: id, when, who added them, the question, and whether it is searchable yet."""
    entries = helpdesk_store(obj).faq_entries()
    for e in entries:
        pending = "" if e.indexed_at else "  (not searchable yet: indexed once the knowledge base is back)"
        click.echo(f"{e.id}  {e.created_at:%Y-%m-%d}  {e.created_by}  {e.question[:80]}{pending}")
    if not entries:
        click.echo("No FAQ entries yet: use Add to knowledge base on a helpdesk ticket.")


@faq.command("remove")
@click.argument("entry_id", type=int)
@pass_context
def faq_remove(obj: Context, entry_id: int):
    """Delete an FAQ entry, its document and its place in the index."""
    from bot.helpdesk.faq import Faq

    entry = Faq(helpdesk_store(obj), obj.knowledge_base(), obj.settings.data_dir).remove(entry_id, "cli")
    click.echo(f"Removed FAQ entry {entry.id}: {entry.question[:80]}")


@click.command()
@click.option("--since", type=SINCE, help="Only changes since then: 24h, 7d, 2w or a date such as 2027-01-18.")
@pass_context
def audit(obj: Context, since: datetime | None):
    """Every ticket, incident and FAQ state change with who and when, oldest first."""
    for entry in helpdesk_store(obj).audit(since):
        click.echo(audit_line(entry))


COMMANDS = (tickets, faq, audit)

"""`rollout audiences add|remove|list|of`: who belongs to the audiences documents are restricted to
(knowledge/audiences.py). Thin commands over bot/comms/memberships.py; added to `main` by bot/cli.py."""
from __future__ import annotations

import json

import click

from bot.cli_context import Context, pass_context
from bot.store.models import utc_now


@click.group()
def audiences():
    """Document audiences: people and Slack user groups besides the pilot cohort (`pilot`) and same-named groups."""


@audiences.command("add")
@click.argument("name")
@click.argument("members", nargs=-1, required=True)
@pass_context
def audiences_add(obj: Context, name: str, members):
    """Add Slack user ids (U…) or user groups (@handle, their members when asked) to audience NAME."""
    from bot.comms.memberships import audience_name, member_entry

    name, entries = audience_name(name), [member_entry(m) for m in members]
    added = obj.runtime().memberships.listed.add(name, entries, "cli", utc_now())
    click.echo(f"Added {added} to audience '{name}' ({len(entries) - added} already in it).")


@audiences.command("remove")
@click.argument("name")
@click.argument("members", nargs=-1, required=True)
@pass_context
def audiences_remove(obj: Context, name: str, members):
    """Take user ids or @groups out of audience NAME."""
    from bot.comms.memberships import audience_name, member_entry

    name, entries = audience_name(name), [member_entry(m) for m in members]
    removed = obj.runtime().memberships.listed.remove(name, entries)
    click.echo(f"Removed {removed} from audience '{name}'.")


@audiences.command("list")
@click.option("--json", "as_json", is_flag=True, help='Print {"audience": [members…]} as JSON.')
@pass_context
def audiences_list(obj: Context, as_json: bool):
    """Every audience with the people and groups added to it, and the audiences the indexed documents name."""
    listed = obj.runtime().memberships.listed.all()
    named = sorted(obj.knowledge_base().audiences())
    if as_json:
        click.echo(json.dumps({"audiences": listed, "in_documents": named}))
        return
    for name in sorted(set(listed) | set(named)):
        members = ", ".join(listed.get(name, [])) or "nobody added"
        extra = " + the pilot cohort" if name == "pilot" else ""
        click.echo(f"{name}: {members}{extra} + Slack user group @{name}, if there is one"
                   + ("" if name in named else " (no indexed document names it)"))
    if not listed and not named:
        click.echo("No audiences yet: mark a document `audience: pilot` or add one with "
                   "`rollout audiences add engineering @eng-team`.")


@audiences.command("of")
@click.argument("user_id")
@pass_context
def audiences_of(obj: Context, user_id: str):
    """The audiences USER_ID belongs to, among those the indexed documents name (what their answers use)."""
    from bot.comms.memberships import member_entry

    user = member_entry(user_id)
    named = obj.knowledge_base().audiences()
    found = sorted(obj.runtime().memberships.audiences_of(user, named))
    click.echo(", ".join(found) if found else f"{user} gets the general answers (in none of: "
                                              f"{', '.join(sorted(named)) or 'no audiences named'}).")


COMMANDS = [audiences]

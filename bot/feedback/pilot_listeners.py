"""`/rollout pilot add|remove|list` for Rollout admins (ROLLOUT_ADMINS), as `rollout pilot` does on the command line.
`add` and `remove` are recorded before the ack; people and user group handles are resolved after it, and the answer
follows by response_url."""
from __future__ import annotations

import re
from collections.abc import Sequence

from slack_bolt import Ack, App

from bot.answering.services import NOT_RECORDED
from bot.comms.announcement_store import PilotCohort
from bot.comms.errors import BadTarget
from bot.feedback.surveys import resolve_people
from bot.slack.client import respond
from bot.slack.parsing import command_key
from bot.store.models import utc_now

PILOT_WORK = "command:pilot"  # a kind of acked work (bot.answering.intake)
USAGE = "/rollout pilot add|remove|list [@person …] [@group …]"
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")


def register(app: App, services, settings, subcommands) -> None:
    """Listen for /rollout pilot (through the /rollout subcommand registry): `list` is answered in the ack; `add` and
    `remove` are recorded as acked work before it (bot/answering/intake.py) and done after it, by any process."""
    pilot = PilotCohort(services.asking.store._sessions)  # noqa: SLF001  (the process's one connection pool)
    admins = settings.admin_ids
    services.intake.handle(PILOT_WORK, lambda p: change_pilot(pilot, usergroups(settings), p),
                           "changing the pilot")

    @subcommands.add("pilot", USAGE, "who is in the pilot, and who gets pulse surveys (Rollout admins)")
    def on_pilot(ack: Ack, command: dict, text: str, _services) -> None:
        user_id = command.get("user_id", "")
        if user_id not in admins:
            return ack(text=not_an_admin(admins))
        action, _, rest = text.partition(" ")
        if action.lower() == "list":
            return ack(text=members_text(pilot.members()))
        if action.lower() not in ("add", "remove") or not rest.split():
            return ack(text=f"Usage: `{USAGE}`, e.g. `/rollout pilot add @alice @support-team`")
        work = {"action": action.lower(), "targets": rest.split(), "response_url": command.get("response_url")}
        reference = services.accept(PILOT_WORK, command_key(PILOT_WORK, command), user_id, work)
        ack(text=":hourglass_flowing_sand: Updating the pilot…" if reference is None else NOT_RECORDED.format(
            reference=reference))


def change_pilot(pilot: PilotCohort, usergroup_members, work: dict) -> None:
    """After the ack: resolve people and groups, change the cohort, and say what changed (doing it again changes
    nothing more)."""
    try:
        users = resolve_people([target(t) for t in work["targets"]], usergroup_members)
    except BadTarget as exc:
        return respond(work["response_url"], f":warning: {exc}")
    if work["action"] == "add":
        added = pilot.add(users, work["user"], utc_now())
        text = f"Added {added} to the pilot ({len(users) - added} already in it)"
    else:
        text = f"Removed {pilot.remove(users)} from the pilot"
    respond(work["response_url"], f"{text}; {len(pilot.members())} members.")


def target(word: str) -> str:
    """A mention as the command's plain text shows it ("@U0ALICE") as a user id; anything else a group handle."""
    name = word.strip(",").lstrip("@")
    return name if _USER_ID.fullmatch(name) else f"@{name}"


def usergroups(settings):
    """User group handle → members through the Web API, or None without a bot token."""
    if not settings.slack_bot_token:
        return None
    from bot.comms.scheduling import slack_delivery

    return slack_delivery(settings).usergroup_members


def members_text(members: Sequence[str]) -> str:
    if not members:
        return "The pilot is empty: `/rollout pilot add @person @group`"
    return f"{len(members)} in the pilot: " + ", ".join(f"<@{m}>" for m in members)


def not_an_admin(admins: frozenset[str]) -> str:
    """Who can change the pilot, for someone who can't."""
    if not admins:
        return "Only Rollout admins can change the pilot, and none are set up yet (ROLLOUT_ADMINS)."
    return "Only Rollout admins can change the pilot: " + ", ".join(f"<@{a}>" for a in sorted(admins)) + \
        ". Ask one of them."

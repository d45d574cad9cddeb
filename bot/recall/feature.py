"""Policy-change recall as a feature (bot/features.py): its tables, the recall DMs' buttons and App Home's *Approve
and send* in Slack, and `rollout recall`."""
from __future__ import annotations

NAME = "recall"
TABLES = ("bot.recall.tables",)
# How each Slack request this feature routes keeps what its ack promises (bot/features.py, README "Reliability and
# safety"): "ack", everything is done before the ack; else the kind of durable work recorded before the ack.
ACKED = {
    "action:recall_approve": "click:recall-approve",
}


def register(app, runtime, routes) -> None:
    """A recall DM's per-answer buttons count as the usual answer buttons; App Home's recall_approve."""
    from bot.recall import listeners

    listeners.register_row_actions(app)
    listeners.register(app, runtime.recalls, runtime.settings.admin_ids, runtime.services, routes.home_view)


def admin_home(runtime) -> list[dict]:
    """Recall runs waiting for an admin's approval."""
    from bot.recall.blocks import home_blocks

    return home_blocks(runtime.recalls.store.pending_runs())


def commands() -> list:
    from bot.recall.cli import COMMANDS

    return list(COMMANDS)

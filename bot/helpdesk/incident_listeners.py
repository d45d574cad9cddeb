"""Incident listeners: `/rollout incident` opens the report modal; its submission is stored, posted to the security
channel and confirmed to the reporter with the first steps; Acknowledge. `register(app, desk, subcommands)` with a
Desk."""
from __future__ import annotations

import logging
import uuid

from slack_bolt import Ack, App

from bot.answering.blocks import INCIDENT_REPORT
from bot.helpdesk import blocks
from bot.helpdesk.limits import INCIDENT, plain
from bot.helpdesk.listeners import accept_click, run_safely, user_of
from bot.slack.commands import COMMAND

log = logging.getLogger(__name__)
ACKNOWLEDGE_WORK = "click:incident-acknowledge"  # a kind of acked work (bot.answering.intake)


def register(app: App, desk, subcommands) -> None:
    """Listen for /rollout incident, the Report an incident button, the incident modal and Acknowledge."""
    workers = desk.services.workers
    desk.services.intake.handle(ACKNOWLEDGE_WORK, lambda p: run_safely(desk, p["body"], lambda: (
        desk.incidents.acknowledge(int(p["action"]["value"]), user_of(p["body"])))))

    @subcommands.add("incident", f"{COMMAND} incident", "report a security incident involving AI tools")
    def on_incident(ack: Ack, command: dict, text: str, _services) -> None:
        ack()
        app.client.views_open(trigger_id=command["trigger_id"], view=blocks.incident_modal())

    @app.action(INCIDENT_REPORT)
    def on_report_button(ack: Ack, body: dict) -> None:
        ack()
        app.client.views_open(trigger_id=body["trigger_id"], view=blocks.incident_modal())

    @app.view(blocks.INCIDENT_MODAL)
    def on_submit(ack: Ack, body: dict, view: dict) -> None:
        fields = modal_fields(view)
        if not fields["what"].strip():
            return ack(response_action="errors", errors={"what": "Please say what happened."})
        if fields["data_kind"] not in blocks.DATA_KINDS:
            return ack(response_action="errors", errors={"data_kind": "Choose the kind of data involved."})
        if refusal := desk.limits.refusal(user_of(body), INCIDENT):
            return ack(response_action="errors", errors={"what": plain(refusal)})
        try:  # stored before the modal closes: a security report is never only in a worker's queue
            incident = desk.incidents.record(user_of(body), **fields)
        except Exception:
            reference = uuid.uuid4().hex[:8]
            log.exception("could not store an incident report (reference %s)", reference)
            return ack(response_action="errors", errors={"what": NOT_SAVED.format(reference=reference)})
        ack()
        workers.quick(desk.incidents.deliver, incident)

    @app.action(blocks.INCIDENT_ACKNOWLEDGE)
    def on_acknowledge(ack: Ack, body: dict, action: dict) -> None:
        ack()
        accept_click(desk, ACKNOWLEDGE_WORK, body, action)


def modal_fields(view: dict) -> dict:
    """The modal's values as Incidents.report arguments (\"not sure\" counts as still happening)."""
    values = {block: next(iter(f.values()), {}) for block, f in view["state"]["values"].items()}
    data_kind = (values.get("data_kind", {}).get("selected_option") or {}).get("value", "")
    ongoing = (values.get("ongoing", {}).get("selected_option") or {}).get("value", "unsure")
    return {"what": values.get("what", {}).get("value") or "", "happened": values.get("when", {}).get("value"),
            "tool": values.get("tool", {}).get("value"), "data_kind": data_kind, "ongoing": ongoing != "no"}


NOT_SAVED = ("Sorry, I couldn't save your report (reference {reference}), so it has not reached Security. Please try "
             "again in a minute; if it is urgent, phone or message the security team directly.")

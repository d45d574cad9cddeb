"""The helpdesk as a feature (bot/features.py): its tables, tickets, the relay and incident reports in Slack,
`rollout tickets|faq|audit`, and the SLA and incident jobs every serving process runs."""
from __future__ import annotations

NAME = "helpdesk"
TABLES = ("bot.helpdesk.tables", "bot.helpdesk.limit_store")
# How each Slack request this feature routes keeps what its ack promises (bot/features.py, README "Reliability and
# safety"): "ack", everything is done before the ack; else the kind of durable work recorded before the ack.
ACKED = {
    "action:escalate": "click:escalate",  # with no helpdesk channel anywhere, stored before the ack as a click
    "command:help-me": "command:help-me",
    "action:ticket_claim": "click:claim",
    "action:ticket_resolve": "click:resolve",
    "action:ticket_rate_[1-5]": "click:rate",
    "action:ticket_add_faq": "ack",  # the modal opens before the ack
    "view:faq_modal": "ack",  # stored before the ack; indexed by the faq-index job
    "event:message": "event:relay",  # in a ticket's thread
    "command:incident": "ack",  # the modal opens before the ack
    "action:incident_report": "ack",
    "view:incident_modal": "ack",  # stored before the ack; posted by the incident-delivery job
    "action:incident_acknowledge": "click:incident-acknowledge",
}


def register(app, runtime, routes) -> None:
    """*Ask a person*, /rollout help-me, ticket buttons, the FAQ modal, ratings and ticket threads; /rollout incident,
    its modal and Acknowledge."""
    from bot.helpdesk import incident_listeners, listeners

    listeners.register(app, runtime.desk, routes)
    incident_listeners.register(app, runtime.desk, routes.subcommands)



def commands() -> list:
    from bot.helpdesk.cli import COMMANDS

    return list(COMMANDS)




def periodic(runtime) -> list:
    """SLA re-announcements, incident (re)posting and indexing FAQ entries saved while the knowledge base was down:
    safe in every process at once (each piece of work is taken with a conditional update)."""
    from bot.helpdesk import escalation_jobs, faq_jobs, incident_jobs

    desk = runtime.desk
    return [
        (escalation_jobs.JOB_ID, escalation_jobs.EVERY_SECONDS,
         lambda now: escalation_jobs.reannounce_overdue_tickets(desk.escalations, now)),
        (incident_jobs.JOB_ID, incident_jobs.EVERY_SECONDS,
         lambda now: incident_jobs.deliver_incidents(desk.incidents, now)),
        (faq_jobs.JOB_ID, faq_jobs.EVERY_SECONDS, lambda now: faq_jobs.index_pending_faq(desk, now)),
    ]

"""The helpdesk as a feature (bot/features.py): its tables, tickets, the relay and incident reports in Slack,
`rollout tickets|faq|audit`, and the SLA and incident jobs every serving process runs."""
from __future__ import annotations

NAME = "helpdesk"
TABLES = ("bot.helpdesk.tables", "bot.helpdesk.limit_store")


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

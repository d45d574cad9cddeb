"""The helpdesk: tickets (escalation, claim, resolve, rate), the relay between employee and agent, security incident
reports, the FAQ learning loop and the audit trail; their Block Kit, tables, listeners, CLI group and jobs."""

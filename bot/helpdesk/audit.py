"""The audit log read back: every ticket, incident and FAQ state change with who and when."""
from __future__ import annotations

from bot.helpdesk.tables import AuditEntry


def audit_line(entry: AuditEntry) -> str:
    """'2027-01-18T09:00:00+00:00  U0AGENT  ticket #3 claimed  (detail)'."""
    detail = f"  ({entry.detail})" if entry.detail else ""
    return f"{entry.at.isoformat(timespec='seconds')}  {entry.actor}  {entry.subject} #{entry.subject_id} " \
           f"{entry.action}{detail}"

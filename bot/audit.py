"""The audit log read back: every ticket, incident and FAQ state change with who and when."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from bot.helpdesk_errors import HelpdeskError
from bot.store.helpdesk import AuditEntry

_AGO = re.compile(r"^(\d+)\s*([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str | None, now: datetime) -> datetime | None:
    """`--since` as '90m', '24h', '7d', '2w', or an ISO date/time (UTC when it has no zone)."""
    if not text:
        return None
    text = text.strip()
    if match := _AGO.match(text):
        return now - timedelta(**{_UNITS[match[2]]: int(match[1])})
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise HelpdeskError(f"--since must look like 24h, 7d or 2027-01-18 (got {text!r})") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=now.tzinfo)


def audit_line(entry: AuditEntry) -> str:
    """'2027-01-18T09:00:00+00:00  U0AGENT  ticket #3 claimed  (detail)'."""
    detail = f"  ({entry.detail})" if entry.detail else ""
    return f"{entry.at.isoformat(timespec='seconds')}  {entry.actor}  {entry.subject} #{entry.subject_id} " \
           f"{entry.action}{detail}"

"""What `rollout` says when a command fails: one line and a non-zero exit, never a traceback.

Every command runs inside `RolloutGroup.invoke` (bot/cli.py), which hands any exception to `explain`. Our own error
types (all `bot.errors.RolloutError`) carry messages written for the person at the terminal; Slack, the database,
Chroma and the file system unreachable or refusing are named with the setting to check. Anything else is a bug: still
one line, with the hint that ROLLOUT_LOG_LEVEL=DEBUG prints the traceback."""
from __future__ import annotations

import logging
from urllib.error import URLError

log = logging.getLogger("bot.cli")

UNEXPECTED = "unexpected error"  # the words the no-traceback test looks for: a case nobody explained yet


def explain(exc: Exception, settings=None) -> str:
    """The one line to show for `exc` (after "Error: ")."""
    for kinds, describe in _EXPLAINERS():
        if isinstance(exc, kinds):
            return describe(exc, settings)
    log.debug("unexpected error", exc_info=exc)
    return (f"{UNEXPECTED}: {type(exc).__name__}: {_one_line(exc)} (ROLLOUT_LOG_LEVEL=DEBUG shows where; "
            "please report it)")


def _EXPLAINERS():  # noqa: N802  (imports deferred: `rollout --help` need not load pydantic, Slack or SQLAlchemy)
    from pydantic import ValidationError
    from slack_sdk.errors import SlackApiError, SlackClientError
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    from bot.errors import RolloutError

    return (
        (RolloutError, lambda exc, _: str(exc)),
        (ValidationError, lambda exc, _: f"invalid setting: {_first_error(exc)}"),
        (SlackApiError, _slack_refused),
        ((URLError, SlackClientError), _slack_unreachable),
        (ArgumentError, lambda exc, _: f"DATABASE_URL is not a database URL: {_one_line(exc)}"),
        (SQLAlchemyError, _database),
        (OSError, _file),
        (UnicodeDecodeError, lambda exc, _: f"a file is not UTF-8 text ({exc.reason} at byte {exc.start})"),
    )


def _slack_refused(exc, settings) -> str:
    error = exc.response.get("error") if hasattr(exc.response, "get") else None
    method = str(getattr(exc.response, "api_url", "")).rsplit("/", 1)[-1] or "a request"
    hint = "; check SLACK_BOT_TOKEN" if error in ("invalid_auth", "not_authed", "token_revoked") else ""
    return f"Slack refused {method}: {error or f'HTTP {exc.response.status_code}'}{hint}"


def _slack_unreachable(exc, settings) -> str:
    """URLError and friends: in a command, only Slack's Web API is reached over urllib."""
    from bot.slack.client import DEFAULT_API_URL

    reason = getattr(exc, "reason", None) or exc
    where = (getattr(settings, "slack_api_url", None) or DEFAULT_API_URL) if settings else "Slack"
    return f"can't reach Slack at {where}: {_one_line(reason)} (check the network, or SLACK_API_URL)"


def _database(exc, settings) -> str:
    from sqlalchemy import make_url
    from sqlalchemy.exc import SQLAlchemyError

    url = "the database"
    if settings is not None:
        try:
            url = make_url(settings.resolved_database_url).render_as_string(hide_password=True)
        except (SQLAlchemyError, ValueError):
            url = "DATABASE_URL"
    return f"cannot open the database at {url}: {_one_line(getattr(exc, 'orig', None) or exc)}"


def _file(exc: OSError, settings) -> str:
    name = exc.filename if exc.filename is not None else ""
    what = exc.strerror or _one_line(exc)
    return f"{name}: {what}" if name else what


def _first_error(exc) -> str:
    error = exc.errors()[0]
    return f"{'.'.join(str(p) for p in error['loc']).upper()}: {error['msg']}"


def _one_line(value, limit: int = 400) -> str:
    """An error's text on one line (drivers' messages run over several), at most `limit` characters."""
    text = " ".join(str(value).split()) or type(value).__name__
    return text if len(text) <= limit else text[:limit - 1] + "…"

"""ROLLOUT_LOG_FORMAT: json lines carry the work's ids and a redacted traceback; a bad value is a clear error."""
from __future__ import annotations

import io
import json
import logging

from click.testing import CliRunner

from bot.answering.safety import RedactingFilter
from bot.cli import main
from bot.logs import RolloutJsonFormatter, WorkIds, log_ids

TOKEN = "xoxb-1234567890-0987654321-L0gT0kenValueAbc"


def test_a_json_line_has_the_fields_the_ids_and_no_secret_even_in_a_traceback():
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(RolloutJsonFormatter())
    handler.addFilter(WorkIds())
    handler.addFilter(RedactingFilter(personal_data=True))
    logger = logging.getLogger("tests.json")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        with log_ids(work_id="message:D1:1.2", channel="D1", user_hash=None):
            try:
                raise RuntimeError(f"Slack refused token {TOKEN}")
            except RuntimeError:
                logger.exception("could not answer with %s", TOKEN, extra={"conversation_id": 7})
        logger.warning("outside any work")
    finally:
        logger.removeHandler(handler)

    first, second = [json.loads(line) for line in out.getvalue().splitlines()]
    assert {"time", "level", "logger", "event", "exc_info"} <= set(first)
    assert (first["level"], first["logger"], first["work_id"], first["channel"], first["conversation_id"]) == (
        "ERROR", "tests.json", "message:D1:1.2", "D1", 7)
    assert "user_hash" not in first and "RuntimeError" in first["exc_info"]
    assert TOKEN not in out.getvalue()
    assert "work_id" not in second


def test_a_bad_log_format_is_one_clear_line_and_a_non_zero_exit(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["sources"], env={"ROLLOUT_LOG_FORMAT": "xml"})
    assert result.exit_code == 1
    assert "ROLLOUT_LOG_FORMAT must be one of text, json, not 'xml'" in result.output
    assert "Traceback" not in result.output

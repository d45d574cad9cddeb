"""What every command shares: one --since, read the same everywhere."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click
import pytest

from bot.cli_context import Since

NOW = datetime(2027, 2, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize("text, moment", [
    ("24h", NOW - timedelta(hours=24)), ("7d", NOW - timedelta(days=7)), ("2w", NOW - timedelta(weeks=2)),
    ("90m", NOW - timedelta(minutes=90)), ("2027-01-18", datetime(2027, 1, 18, tzinfo=UTC)),
    ("2027-01-18T09:30+01:00", datetime(2027, 1, 18, 8, 30, tzinfo=UTC)),
])
def test_since_reads_the_same_on_every_command(text, moment):
    assert Since(clock=lambda: NOW).convert(text, None, None) == moment


@pytest.mark.parametrize("text", ["last tuesday", "7 days", "", "2027-13-01"])
def test_a_since_that_is_no_time_says_what_to_write(text):
    with pytest.raises(click.BadParameter, match="is not a time: write e.g. 24h, 7d, 2w or 2027-01-18"):
        Since(clock=lambda: NOW).convert(text, None, None)

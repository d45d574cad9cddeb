"""What every command shares: one --since, read the same everywhere, through every command that takes it."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click
import pytest
from click.testing import CliRunner

from bot.cli_context import SINCE, Since

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


def since_commands() -> dict[str, click.Command]:
    """Every `rollout` command with a --since option, by its words ("feedback export")."""
    from bot.cli import main

    found, groups = {}, [((), main)]
    while groups:
        words, group = groups.pop()
        for name, command in group.commands.items():
            if isinstance(command, click.Group):
                groups.append(((*words, name), command))
            elif any("--since" in p.opts for p in command.params):
                found[" ".join((*words, name))] = command
    return found


def test_every_since_option_is_the_one_parser():
    commands = since_commands()
    assert {"audit", "feedback export", "report"} <= commands.keys()
    assert all(next(p for p in c.params if "--since" in p.opts).type is SINCE for c in commands.values())


@pytest.mark.parametrize("words", sorted(since_commands()))
def test_every_command_with_since_takes_ages_and_dates_and_refuses_the_rest(words, tmp_path):
    from bot.cli import main

    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'rollout.db'}", "ROLLOUT_DATA_DIR": str(tmp_path / "data")}

    def run(since: str):
        return CliRunner().invoke(main, [*words.split(), "--since", since], env=env, catch_exceptions=False)

    for since in ("90m", "24h", "7d", "2w", "2020-01-18", "2020-01-18T09:30+01:00"):
        result = run(since)
        assert result.exit_code == 0, (words, since, result.output)
    refused = run("last tuesday")
    assert refused.exit_code == 2 and "is not a time: write e.g. 24h, 7d, 2w or 2027-01-18" in refused.output

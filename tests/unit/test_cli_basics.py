"""What people expect of any command-line tool: `--version`, and the shell completion the README documents."""
from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

from click.testing import CliRunner

from bot.cli import main

README = Path(__file__).resolve().parents[2] / "README.md"


def test_version() -> None:
    result = CliRunner().invoke(main, ["--version"])

    assert result.exit_code == 0 and result.output == f"rollout, version {version('rollout')}\n"


def test_the_completion_the_readme_documents_is_the_one_click_gives() -> None:
    documented = re.findall(r"_ROLLOUT_COMPLETE=(\w+) rollout", README.read_text(encoding="utf-8"))
    assert {"bash_source", "zsh_source", "fish_source"} <= set(documented)

    for instruction in set(documented):
        script = CliRunner().invoke(main, [], env={"_ROLLOUT_COMPLETE": instruction}, prog_name="rollout")
        assert script.exit_code == 0 and "_ROLLOUT_COMPLETE" in script.output, instruction


def test_completion_offers_the_commands_and_subcommands() -> None:
    def complete(words: str) -> list[str]:
        result = CliRunner().invoke(main, [], prog_name="rollout", env={
            "_ROLLOUT_COMPLETE": "bash_complete", "COMP_WORDS": words, "COMP_CWORD": str(len(words.split()))})
        return [line.split(",", 1)[1] for line in result.output.splitlines()]

    assert {"ask", "forget", "plan", "announce"} <= set(complete("rollout "))
    assert set(complete("rollout plan ")) == {"init", "apply", "diff", "show"}

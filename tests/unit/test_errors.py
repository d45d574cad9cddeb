"""One root error type (issue 12): every error of ours whose message is safe to show derives from RolloutError, so
the CLI and the Slack edge each handle them in one place."""
from __future__ import annotations

import ast
import builtins

from click.testing import CliRunner

from bot.errors import NotFound, RolloutError, SettingError
from bot.store import make_engine
from tests.unit.test_imports import modules

# Not shown to anyone as they are: the scheduler engine's own signals and its refusal of a schedule, which
# bot/comms/schedules.py raises as a BadSchedule (jobs/ imports nothing of ours), and prompt files' problems, which
# their two callers turn into a CommsError or an LLMSetupError.
INTERNAL = {"jobs.delivery.SendFailed", "jobs.delivery.Interrupted", "jobs.schedule.ScheduleError",
            "prompts.PromptError"}


def error_classes() -> dict[str, list[str]]:
    """Every exception class of ours by dotted name, with its bases as written."""
    found = {}
    for name, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            bases = [ast.unparse(b) for b in node.bases] if isinstance(node, ast.ClassDef) else []
            if any(b.endswith(("Exception", "Error")) for b in bases):
                found[f"{name}.{node.name}"] = bases
    return found


def test_only_the_root_and_internal_signals_derive_from_python_s_own_exceptions():
    classes = error_classes()
    python_s = {name for name, bases in classes.items() if "RolloutError" not in bases
                and any(isinstance(getattr(builtins, b, None), type) for b in bases)}
    assert len(classes) > 20 and python_s == {"knowledge.errors.RolloutError", *INTERNAL}


def test_one_not_found_and_every_feature_error_under_the_root():
    assert sorted(name for name in error_classes() if name.endswith(".NotFound")) == ["bot.errors.NotFound"]
    from bot.answering.channel_settings import ChannelSettingsError
    from bot.comms.errors import CommsError
    from bot.demo import DemoError
    from bot.feedback.ratings import UnknownAnswer
    from bot.helpdesk.errors import HelpdeskError
    from bot.recall.recalls import RecallError
    from bot.slack.transport import ServeError
    from knowledge.errors import KnowledgeError
    from knowledge.llm import LLMSetupError

    for kind in (KnowledgeError, LLMSetupError, HelpdeskError, CommsError, RecallError, ServeError, DemoError,
                 ChannelSettingsError, UnknownAnswer, NotFound, SettingError):
        assert issubclass(kind, RolloutError), kind


def test_a_malformed_setting_is_a_setting_error_the_cli_shows_as_one_line(tmp_path):
    from bot.cli import main

    try:
        make_engine("mysql://db/rollout")
    except SettingError as exc:
        assert str(exc).startswith("DATABASE_URL must be a sqlite:// or postgresql:// URL")
    else:
        raise AssertionError("make_engine accepted a MySQL URL")
    result = CliRunner().invoke(main, ["audit"], env={"DATABASE_URL": "mysql://db/rollout",
                                                     "ROLLOUT_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 1
    assert result.output == "Error: DATABASE_URL must be a sqlite:// or postgresql:// URL, not mysql://...\n"

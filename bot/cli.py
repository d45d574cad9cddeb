"""`rollout`: the root group, the process commands (serve, start, demo) and every feature's commands and groups
(bot/features.py), each a thin layer that reads settings, builds a service and calls it."""
from __future__ import annotations

import gc
import os
from pathlib import Path

import click

from bot.cli_context import Context, pass_context
from bot.features import FEATURES

# Nothing may reach for a model hub at run time; set before any model library is imported.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class RolloutGroup(click.Group):
    """Every command runs in here: any exception becomes one clear line and a non-zero exit (bot/cli_errors.py),
    never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except Exception as exc:
            from bot.cli_errors import explain

            settings = getattr(ctx.obj, "settings", None)
            raise click.ClickException(explain(exc, settings)) from exc
        finally:
            # The command's objects (model, index) die with the process: spare the interpreter's final collection
            # from walking them (measured 1.6-2.0 s after `rollout ask` printed its answer; 0.25 s frozen).
            gc.freeze()


@click.group(cls=RolloutGroup)
@click.version_option(package_name="rollout", prog_name="rollout")
@click.pass_context
def main(ctx):
    """Rollout: answers employees' questions about generative-AI policies, in Slack and here."""
    from bot.logs import LogFormatError, configure

    try:
        configure(os.environ.get("ROLLOUT_LOG_LEVEL", "WARNING"), os.environ.get("ROLLOUT_LOG_FORMAT"))
    except (LogFormatError, ValueError) as exc:  # ValueError: logging's own, for an unknown ROLLOUT_LOG_LEVEL
        raise click.ClickException(str(exc)) from exc
    ctx.obj = Context()
    ctx.call_on_close(ctx.obj.close)


@main.command()
@click.option("--http", "http", is_flag=True, help="Serve Slack's HTTP requests at POST /slack/events instead of "
              "connecting over Socket Mode (needs SLACK_SIGNING_SECRET instead of SLACK_APP_TOKEN).")
@click.option("--port", type=click.IntRange(0, 65535), default=3000, show_default=True, help="Port for --http.")
@click.option("--host", default="0.0.0.0", show_default=True, help="Address for --http.")
@click.option("--no-scheduler", is_flag=True, help="Leave scheduled jobs to a separate `rollout scheduler`.")
@pass_context
def serve(obj: Context, http: bool, port: int, host: str, no_scheduler: bool):
    """Run the Slack bot: Socket Mode by default, or an HTTP server with --http."""
    from bot.slack.server import run

    run(obj.settings, http=http, host=host, port=port, open_knowledge_base=obj.knowledge_base, echo=click.echo,
        scheduler=not no_scheduler)


@main.command()
@pass_context
def start(obj: Context):
    """Run the Slack bot when credentials are set, else the terminal chat."""
    s = obj.settings
    if s.slack_bot_token and (s.slack_app_token or s.slack_signing_secret):
        ctx = click.get_current_context()
        ctx.invoke(main.get_command(ctx, "serve"), http=not s.slack_app_token)
        return
    click.echo("No Slack credentials (SLACK_BOT_TOKEN + SLACK_APP_TOKEN) are set, so here is the terminal chat.\n"
               "See README, 'Create the Slack app in two minutes', to run Rollout in Slack.\n")
    run = main.get_command(click.get_current_context(), "chat")
    click.get_current_context().invoke(run)


@main.command()
def demo():
    """Try the Slack flows without a workspace: the bot in HTTP mode against a local fake Slack.

    Walks a question, a 👎, an escalation, an incident and an announcement on the sample policies, in a throwaway
    data dir, and prints what the employee, the helpdesk, security and the comms team would see. No credentials,
    nothing leaves this machine.
    """
    import tempfile

    from bot.demo import run_demo

    with tempfile.TemporaryDirectory(prefix="rollout-demo-") as workdir:
        run_demo(Path(workdir), click.echo)


# Every feature's commands and groups (bot/features.py; they import nothing from this module): pilot feedback (pilot,
# survey, feedback, report), the helpdesk (tickets, faq, audit), deployment communications (scheduler, announce,
# plan, ack, audiences), policy-change recall (recall) and answering (ingest, forget, sources, ask, chat, eval and
# channels).
for _feature in FEATURES:
    for _command in _feature.commands():
        main.add_command(_command)

"""`rollout serve`: check the settings and credentials, load everything once, then serve Slack
(bot/slack/transport.py)."""
from __future__ import annotations

import itertools
import logging
import os
import sys
import time
from collections.abc import Callable

from slack_sdk.errors import SlackApiError

from bot.answering.safety import install_redacting_filter
from bot.metrics import start_process
from bot.operations import Operations
from bot.runtime import Runtime, build_runtime
from bot.settings import Settings
from bot.slack.app import create_app
from bot.slack.client import DEFAULT_API_URL, web_client
from bot.slack.transport import (
    EVENTS_PATH,
    HEALTH_PATH,
    METRICS_PATH,
    READY_PATH,
    HttpServer,
    ServeError,
    SocketModeServer,
)

__all__ = ["ServeError", "run"]

log = logging.getLogger(__name__)

CHROMA_START_SECONDS = 60.0  # how long `rollout serve` waits for a Chroma server started beside it
CHROMA_RETRY_SECONDS = 1.0

CREDENTIAL_HELP = {
    "SLACK_BOT_TOKEN": "the Bot User OAuth Token (xoxb-...): your app's page at https://api.slack.com/apps, "
                       "OAuth & Permissions, after 'Install to Workspace'",
    "SLACK_APP_TOKEN": "an app-level token (xapp-...) with the connections:write scope: Basic Information, "
                       "App-Level Tokens, 'Generate Token and Scopes'",
    "SLACK_SIGNING_SECRET": "the Signing Secret: Basic Information, App Credentials",
}


def run(settings: Settings, *, http: bool, host: str, port: int, open_knowledge_base: Callable[[], object],
        echo: Callable[[str], None] = print, scheduler: bool = True) -> None:
    """`rollout serve`: check settings, load everything once, then serve until stopped."""
    install_redacting_filter(personal_data=True)
    if missing := missing_credentials(settings, http):
        raise ServeError(missing_credentials_message(missing, http))
    check_token(settings)
    try:
        echo(start_process())
    except (OSError, ValueError) as exc:
        raise ServeError(str(exc)) from exc
    # One thread per embedding: questions are single sentences, and torch's threads spin-waiting for each other
    # cost several times the work itself once other threads (or processes) want the CPU. Set before torch loads.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    # A burst of questions is embedded in one wide batch on two threads (knowledge/embeddings.py); between batches
    # the second thread must sleep, not spin on a core that answers are waiting for.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    echo("Loading the knowledge base…")
    knowledge_base = open_when_reachable(open_knowledge_base, echo)
    warm_up(knowledge_base)
    runtime = _runtime(settings, knowledge_base)
    app = create_app(runtime)  # registers every kind of acked work before the background resumes any of it
    background = start_background(runtime, scheduler, echo)
    try:
        if http:
            server = HttpServer(app, host, port, acking=runtime.services.workers.acking,
                                operations=Operations(runtime))
            echo(f"Rollout is listening on {server.url}{EVENTS_PATH} (alive: {HEALTH_PATH}, ready: {READY_PATH}, "
                 f"metrics: {METRICS_PATH})")
            server.serve()
        else:
            echo("Rollout is connected to Slack over Socket Mode. Ctrl-C to stop.")
            SocketModeServer(app, settings.slack_app_token).serve()
    finally:
        stop_serving(runtime, background, echo)


def stop_serving(runtime: Runtime, background: list, echo: Callable[[str], None]) -> None:
    """Stop the background jobs, finish the answers under way within ROLLOUT_SHUTDOWN_SECONDS and hand back the
    rest (the next process to start answers them), then release the database."""
    echo("Finishing the answers already under way…")
    for stop in reversed(background):
        stop()
    finished = runtime.services.close(runtime.settings.rollout_shutdown_seconds)
    runtime.close()
    if not finished:
        echo("Some answers were not finished in time; they are kept and answered when Rollout starts again.")
        # Threads still waiting on Slack would hold the exit up (the interpreter joins them); nothing they hold is
        # lost, it was handed back above.
        logging.shutdown()
        sys.stdout.flush()
        os._exit(0)


def start_background(runtime: Runtime, scheduler: bool, echo: Callable[[str], None]) -> list:
    """The scheduler (unless --no-scheduler) and every feature's periodic jobs, over the runtime; their stops."""
    from bot.features import periodic_jobs
    from jobs.periodic import Periodic

    stops = [Periodic(periodic_jobs(runtime)).start().stop]
    if scheduler:
        from bot.comms.scheduling import run_scheduler

        stops.append(run_scheduler(runtime).shutdown)
        echo("Scheduled announcements, surveys and reports run in this process (--no-scheduler to leave them to "
             "`rollout scheduler`).")
    return stops


def missing_credentials(settings: Settings, http: bool) -> list[str]:
    """The environment variables this mode needs and lacks."""
    needed = {"SLACK_BOT_TOKEN": settings.slack_bot_token}
    if http:
        needed["SLACK_SIGNING_SECRET"] = settings.slack_signing_secret
    else:
        needed["SLACK_APP_TOKEN"] = settings.slack_app_token
    return [name for name, value in needed.items() if not value]


def missing_credentials_message(missing: list[str], http: bool) -> str:
    """Which variables are missing, where each one comes from, and the other mode."""
    mode = "HTTP mode" if http else "Socket Mode"
    lines = [f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set; {mode} needs "
             f"{'them' if len(missing) > 1 else 'it'}."]
    lines += [f"  {name}: {CREDENTIAL_HELP[name]}" for name in missing]
    lines.append("Set them in the environment or in .env. No Slack app yet? Create one from manifest.yml: "
                 "see README, 'Create the Slack app in two minutes'.")
    lines.append("Or: rollout serve --http (SLACK_BOT_TOKEN + SLACK_SIGNING_SECRET)" if not http else
                 "Or: rollout serve, for Socket Mode (SLACK_BOT_TOKEN + SLACK_APP_TOKEN)")
    return "\n".join(lines)


def check_token(settings: Settings) -> None:
    """Fail at start-up, with the reason, when Slack refuses the bot token or cannot be reached."""
    token, app_token = settings.slack_bot_token or "", settings.slack_app_token
    if not token.startswith("xoxb-"):
        raise ServeError("SLACK_BOT_TOKEN must be the Bot User OAuth Token, which starts with xoxb-.")
    if app_token and not app_token.startswith("xapp-"):
        raise ServeError("SLACK_APP_TOKEN must be an app-level token, which starts with xapp-.")
    try:
        web_client(token, settings.slack_api_url).auth_test()
    except SlackApiError as exc:
        raise ServeError(f"Slack refused SLACK_BOT_TOKEN: {exc.response.get('error')}. Copy the Bot User OAuth "
                         "Token again from OAuth & Permissions (reinstall the app if its scopes changed).") from exc
    except OSError as exc:
        raise ServeError(f"cannot reach Slack at {settings.slack_api_url or DEFAULT_API_URL}: {exc}") from exc


def open_when_reachable(open_knowledge_base: Callable[[], object], echo: Callable[[str], None],
                        wait_seconds: float = CHROMA_START_SECONDS, pause: Callable[[float], None] = time.sleep):
    """The knowledge base, once its Chroma server answers: one started beside the workers (`honcho start`, compose)
    may still be starting. Waits up to `wait_seconds`, saying so once; any other error stops the start at once."""
    from knowledge.errors import ChromaUnreachable

    deadline = time.monotonic() + wait_seconds
    for attempt in itertools.count():
        try:
            return open_knowledge_base()
        except ChromaUnreachable as exc:
            if time.monotonic() >= deadline:
                raise ServeError(f"{exc} (waited {wait_seconds:.0f} s for it)") from exc
            if attempt == 0:
                echo(f"Waiting for the Chroma server (CHROMA_URL) to answer, up to {wait_seconds:.0f} s…")
            pause(CHROMA_RETRY_SECONDS)


def warm_up(knowledge_base) -> None:
    """Load the model and ask one question before serving, so the first employee doesn't wait for either."""
    knowledge_base.warm_up()  # the model itself: questions arriving together are encoded in one batch by it
    knowledge_base.ask("How do I get access to the approved AI tools?")
    if not knowledge_base.documents():
        log.warning("no documents are indexed yet, so every answer will be 'I don't know'. "
                    "Run: rollout ingest knowledge/policies")


def _runtime(settings: Settings, knowledge_base) -> Runtime:
    """The process's runtime with its answering services built now, so a malformed setting (SettingError) or a
    database that cannot be opened stops the start; `rollout` says which (bot/cli_errors.py)."""
    runtime = build_runtime(settings, knowledge_base=knowledge_base)
    try:
        runtime.services
    except Exception:
        runtime.close()
        raise
    return runtime

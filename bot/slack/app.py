"""The Bolt app: every feature's listeners on it, routed by their matchers, and the error handler; built once at
start-up over the runtime (bot/runtime.py), shared by HTTP and Socket Mode."""
from __future__ import annotations

import json
import logging
import uuid

from slack_bolt import App
from slack_bolt.error import BoltUnhandledRequestError
from slack_bolt.response import BoltResponse

from bot.runtime import Runtime
from bot.slack import commands
from bot.slack.commands import Routes

log = logging.getLogger(__name__)


class RolloutApp(App):
    """Bolt's App with the routing it declares (`routes`): the /rollout subcommands, the threads a feature takes over
    from answering, the App Home. Every listener is a feature's (bot/features.py) and routed by its matchers."""

    def __init__(self, routes: Routes, **options):
        super().__init__(**options)
        self.routes = routes


def create_app(runtime: Runtime) -> RolloutApp:
    """The Bolt app over the runtime: Slack's signature checked on every HTTP request, every feature's listeners
    (which ack at once), the /rollout command, an error handler that also acks the events nobody listens for."""
    from bot.features import FEATURES, admin_home

    settings, services = runtime.settings, runtime.services
    app = RolloutApp(
        Routes(admin_home=lambda: admin_home(runtime)),
        client=services.client,
        signing_secret=settings.slack_signing_secret or "",
        request_verification_enabled=bool(settings.slack_signing_secret),  # Socket Mode has no signatures
        process_before_response=True,  # listeners only hand work to services.workers, so ack after they return
        raise_error_for_unhandled_request=True,  # to _on_error, which acks events we don't act on
        name="rollout",
    )
    for feature in FEATURES:
        feature.register(app, runtime, app.routes)
    commands.register(app, services, app.routes.subcommands)
    app.error(_on_error)
    return app


def _on_error(error: Exception, body: dict, response: BoltResponse | None) -> None:
    """A listener failed: log it with a reference; Slack gets a 200 (a retry would fail the same way). A request no
    listener matched: an event is acked (Slack neither retries it nor counts a failure), anything else answered as
    Bolt answers it."""
    if isinstance(error, BoltUnhandledRequestError):
        if isinstance(body, dict) and body.get("type") == "event_callback" and response is not None:
            response.status, response.body = 200, ""
        else:
            log.warning("no listener for a Slack %s", _kind(body))
        return
    reference = uuid.uuid4().hex[:8]
    log.error("error handling a Slack %s (reference %s)", _kind(body), reference, exc_info=error)
    if response is None:
        return
    response.status = 200
    response.body = ""
    sorry = "Sorry, something went wrong on my side (reference {}). Please try again."
    if isinstance(body, dict) and body.get("command"):
        response.headers["content-type"] = ["application/json;charset=utf-8"]
        response.body = json.dumps({"response_type": "ephemeral",
                                    "text": ":warning: " + sorry.format(f"`{reference}`")})
    elif isinstance(body, dict) and body.get("type") == "view_submission" and (field := _first_input(body)):
        # An empty 200 would close the modal as if it had worked: keep it open and say so next to its first field.
        response.headers["content-type"] = ["application/json;charset=utf-8"]
        response.body = json.dumps({"response_action": "errors", "errors": {field: sorry.format(reference)}})


def _first_input(body: dict) -> str | None:
    """The block id of a submitted modal's first input, where Slack can show an error."""
    view = body.get("view") or {}
    ids = [b.get("block_id") for b in view.get("blocks") or [] if b.get("type") == "input" and b.get("block_id")]
    return next(iter(ids or ((view.get("state") or {}).get("values") or {})), None)


def _kind(body) -> str:
    if not isinstance(body, dict):
        return "request"
    return body.get("command") or (body.get("event") or {}).get("type") or body.get("type") or "request"

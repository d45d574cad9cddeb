"""Block Kit for the helpdesk and incident reports: small pure functions, checkable without Slack."""
from __future__ import annotations

from bot.slack.blocks import button, context, escape, shorten, text_sections

TICKET_CLAIM, TICKET_RESOLVE, TICKET_ADD_FAQ, TICKET_RATE = "ticket_claim", "ticket_resolve", "ticket_add_faq", \
    "ticket_rate"
INCIDENT_ACKNOWLEDGE = "incident_acknowledge"
FAQ_MODAL, INCIDENT_MODAL = "faq_modal", "incident_modal"
DATA_KINDS = {"public": "Public", "internal": "Internal", "confidential": "Confidential",
              "personal": "Personal data", "credentials": "Credentials"}
SEVERITY_EMOJI = {"high": ":red_circle:", "medium": ":large_orange_circle:", "low": ":large_yellow_circle:"}


# -- tickets ------------------------------------------------------------------------------------------------------

def ticket_text(ticket) -> str:
    """The notification line of a ticket's helpdesk message."""
    return f"Ticket #{ticket.id} ({ticket.status}) from <@{ticket.user_id}>: {escape(shorten(ticket.question, 150))}"


def ticket_blocks(ticket) -> list[dict]:
    """Who asked, the question, what the bot answered and cited, a permalink, state, and the ticket's buttons."""
    origin = "escalated answer" if ticket.origin == "escalate" else "/rollout help-me"
    lines = [f"*Ticket #{ticket.id}* from <@{ticket.user_id}> ({origin})",
             f"*Question:* {escape(shorten(ticket.question, 1200))}"]
    if ticket.answer:
        lines.append(f"*Rollout answered:* {escape(shorten(ticket.answer, 1200))}")
    if cited := [s.get("title") for s in ticket.sources or [] if s.get("title")]:
        lines.append("*Cited:* " + "; ".join(escape(t) for t in dict.fromkeys(cited)))
    if ticket.permalink:
        lines.append(f"<{ticket.permalink}|View the conversation>")
    blocks = text_sections("\n".join(lines), f"ticket_{ticket.id}")
    blocks.append(context(status_line(ticket), "ticket_status"))
    value = str(ticket.id)
    buttons = [button(TICKET_ADD_FAQ, "Add to knowledge base", value)]
    if ticket.status != "resolved":
        buttons.insert(0, button(TICKET_RESOLVE, "Resolve", value))
    if ticket.status == "open":
        buttons.insert(0, button(TICKET_CLAIM, "Claim", value, primary=True))
    blocks.append({"type": "actions", "block_id": "ticket_actions", "elements": buttons})
    return blocks


def status_line(ticket) -> str:
    if ticket.status == "claimed":
        return f":handshake: Claimed by <@{ticket.claimed_by}>: replies in this thread reach the asker."
    if ticket.status == "resolved":
        return f":white_check_mark: Resolved by <@{ticket.resolved_by}>."
    return ":hourglass_flowing_sand: Open: claim it to start talking with the asker in this thread."


def following_up_text(ticket, sla_minutes: int) -> str:
    return (f":raising_hand: I've passed your question to the helpdesk (ticket #{ticket.id}). A person will follow "
            f"up here, usually within {sla_minutes} minutes; reply in this thread to add details.")


def claimed_text(agent_id: str) -> str:
    return f":handshake: <@{agent_id}> from the helpdesk is looking at your question. Reply in this thread to talk."


def resolved_text(agent_id: str) -> str:
    return f":white_check_mark: <@{agent_id}> marked your helpdesk ticket as resolved. How was the help?"


def rating_blocks(ticket) -> list[dict]:
    """The resolution notice with 1–5 rating buttons."""
    buttons = [button(f"{TICKET_RATE}_{n}", str(n), f"{ticket.id}:{n}") for n in range(1, 6)]
    return [*text_sections(resolved_text(ticket.resolved_by) + " Rate it from 1 (poor) to 5 (great):",
                           "ticket_resolved"),
            {"type": "actions", "block_id": f"ticket_rating_{ticket.id}", "elements": buttons}]


def from_agent(agent_id: str, text: str) -> str:
    """An agent's message (plain text) relayed to the asker: who wrote it, and their words with no live markup."""
    return f"*<@{agent_id}> (helpdesk):* {escape(text)}"


def from_asker(user_id: str, text: str) -> str:
    """The asker's message (plain text) relayed to the helpdesk thread, with no live markup."""
    return f"*<@{user_id}>:* {escape(text)}"


def overdue_text(ticket, waited_minutes: int) -> str:
    return (f":rotating_light: Ticket #{ticket.id} from <@{ticket.user_id}> has waited {waited_minutes} minutes "
            f"without being claimed. Can someone pick it up?")


def faq_modal(ticket) -> dict:
    """The Add to knowledge base modal, pre-filled with the question and the agent's resolution."""
    return {"type": "modal", "callback_id": FAQ_MODAL, "private_metadata": str(ticket.id),
            "title": {"type": "plain_text", "text": "Add to knowledge base"},
            "submit": {"type": "plain_text", "text": "Add"}, "close": {"type": "plain_text", "text": "Cancel"},
            "blocks": [_input("question", "Question", ticket.question, multiline=False),
                       _input("answer", "Answer", ticket.resolution or "", multiline=True)]}


# -- incidents ----------------------------------------------------------------------------------------------------

def incident_modal() -> dict:
    """What happened, when, which tool, what kind of data, still happening?"""
    kinds = [{"text": {"type": "plain_text", "text": label}, "value": value} for value, label in DATA_KINDS.items()]
    yes_no = [{"text": {"type": "plain_text", "text": label}, "value": value}
              for value, label in (("yes", "Yes"), ("no", "No"), ("unsure", "Not sure"))]
    return {"type": "modal", "callback_id": INCIDENT_MODAL,
            "title": {"type": "plain_text", "text": "Report an incident"},
            "submit": {"type": "plain_text", "text": "Report"}, "close": {"type": "plain_text", "text": "Cancel"},
            "blocks": [
                context("Describe secrets and personal data, don't paste them (\"a database password\").", "intro"),
                _input("what", "What happened?", "", multiline=True),
                _input("when", "When did it happen?", "", multiline=False),
                _input("tool", "Which AI tool or system?", "", multiline=False),
                {"type": "input", "block_id": "data_kind", "label": {"type": "plain_text", "text": "Data involved"},
                 "element": {"type": "static_select", "action_id": "value", "options": kinds}},
                {"type": "input", "block_id": "ongoing", "label": {"type": "plain_text",
                                                                   "text": "Is it still happening?"},
                 "element": {"type": "radio_buttons", "action_id": "value", "options": yes_no}},
            ]}


def incident_text(incident) -> str:
    return (f"{SEVERITY_EMOJI.get(incident.severity, '')} {incident.severity.upper()} severity incident "
            f"#{incident.id} reported by <@{incident.reporter_id}>")


def incident_blocks(incident, repost: bool = False) -> list[dict]:
    """The security channel's report with its Acknowledge button."""
    lines = [("*Still unacknowledged:* " if repost else "") + f"*{incident_text(incident)}*",
             f"*What happened:* {escape(shorten(incident.what, 1500))}",
             f"*When:* {escape(incident.happened or 'not given')}   *Tool:* {escape(incident.tool or 'not given')}",
             f"*Data:* {DATA_KINDS.get(incident.data_kind, incident.data_kind)}   "
             f"*Still happening:* {'yes' if incident.ongoing else 'no'}"]
    blocks = text_sections("\n".join(lines), f"incident_{incident.id}")
    if incident.status == "acknowledged":
        blocks.append(context(f":white_check_mark: Acknowledged by <@{incident.acknowledged_by}>.", "incident_ack"))
    else:
        blocks.append({"type": "actions", "block_id": "incident_actions",
                       "elements": [button(INCIDENT_ACKNOWLEDGE, "Acknowledge", str(incident.id), primary=True)]})
    return blocks


def _input(block_id: str, label: str, initial: str, multiline: bool) -> dict:
    element = {"type": "plain_text_input", "action_id": "value", "multiline": multiline}
    if initial:
        element["initial_value"] = shorten(initial, 3000)
    return {"type": "input", "block_id": block_id, "label": {"type": "plain_text", "text": label},
            "element": element}


def faq_added_text(entry) -> str:
    """An FAQ entry is stored and searchable."""
    return (f":books: <@{entry.created_by}> added this to the knowledge base as FAQ entry {entry.id} (cited as "
            f"Helpdesk FAQ).")


def faq_pending_text(entry) -> str:
    """An FAQ entry is stored, but the knowledge base could not be reached to index it."""
    return (f":warning: <@{entry.created_by}> FAQ entry {entry.id} is saved, but it is *not searchable yet*: I couldn't "
            f"reach the knowledge base. I'll add it as soon as the knowledge base is back and say so here; nothing "
            f"needs doing on your side.")


def faq_now_searchable_text(entry) -> str:
    """An FAQ entry saved while the knowledge base was down has now been indexed."""
    return f":books: FAQ entry {entry.id} is now in the knowledge base (cited as Helpdesk FAQ)."

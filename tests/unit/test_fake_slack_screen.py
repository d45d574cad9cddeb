"""How `rollout demo` draws what a person sees: Slack's mrkdwn and Block Kit as terminal text."""
from __future__ import annotations

from bot.fake_slack.block_kit import view_errors
from bot.fake_slack.screen import message_lines, plain, view_lines
from bot.helpdesk.blocks import incident_modal


def test_links_mentions_broadcasts_emoji_and_entities_read_as_a_person_reads_them():
    text = "<@U0SAM> see <https://intranet.example/p|the policy> or <https://x.example> :+1: :unknown: &lt;b&gt; <!here>"

    assert plain(text, {"U0SAM": "sam"}) == ("@sam see the policy (https://intranet.example/p) or https://x.example 👍 "
                                             ":unknown: <b> @here")


def test_a_message_shows_its_sections_context_and_buttons_and_its_text_without_blocks():
    blocks = [{"type": "header", "text": {"type": "plain_text", "text": "Ticket"}},
              {"type": "section", "text": {"type": "mrkdwn", "text": "Hello"}},
              {"type": "context", "elements": [{"type": "mrkdwn", "text": ":shield: private"}]},
              {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Claim"},
                                                "action_id": "claim"}]}]

    assert message_lines({"blocks": blocks}) == ["TICKET", "Hello", "  🛡️ private", "[ Claim ]"]
    assert message_lines({"text": "plain words"}) == ["plain words"]


def test_a_modal_shows_its_title_its_fields_with_their_choices_and_its_buttons():
    lines = view_lines(incident_modal())

    assert lines[0].startswith("┌ ") and lines[-1].startswith("[ ")
    assert any(": " in line and " / " in line for line in lines)  # a choice lists its options


def test_every_input_of_a_modal_may_share_an_action_id_but_not_two_buttons_of_one_block():
    assert view_errors(incident_modal()) == []  # each input's element is "value", as Slack allows
    button = {"type": "button", "text": {"type": "plain_text", "text": "Go"}, "action_id": "go"}
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "T"},
             "blocks": [{"type": "actions", "elements": [button, dict(button)]}]}
    assert view_errors(modal) == ["action_id must be unique [json-pointer:/view/blocks/0/elements/1/action_id]"]

"""Channel settings and shares on SQLite and PostgreSQL: defaults, changes, validation, one share per answer."""
from __future__ import annotations

from datetime import timedelta

import pytest

from bot.answering.channel_settings import Channels, ChannelSettingsError
from bot.answering.channel_store import SHARE_TAKEOVER, ChannelStore
from bot.store.models import utc_now
from bot.store.repositories import Store


@pytest.fixture
def channels(sessions) -> Channels:
    return Channels(ChannelStore(sessions))


def test_a_channel_never_configured_has_the_defaults(channels):
    settings = channels.settings("C0NEW")
    assert (settings.answer_mode, settings.private_answers, settings.audience, settings.escalate_to) == (
        "mention", False, (), None)
    assert not settings.configured and channels.audiences_for_channel("C0NEW") == []
    assert channels.store.all() == []


def test_changes_keep_the_settings_not_given_and_are_read_back_by_another_store(channels, sessions):
    channels.change("C0POLICY", "U0ADMIN", answer_mode="auto", audience="Pilot, engineering pilot")
    channels.change("C0POLICY", "U0ADMIN", private_answers=True, escalate_to="C0HELP2")

    other = Channels(ChannelStore(sessions))  # as another process would read it
    settings = other.settings("C0POLICY")
    assert (settings.answer_mode, settings.private_answers, settings.escalate_to) == ("auto", True, "C0HELP2")
    assert other.audiences_for_channel("C0POLICY") == ["pilot", "engineering"]
    assert settings.configured and settings.updated_by == "U0ADMIN"
    assert other.channel_for("C0POLICY", "C0HELP") == "C0HELP2" and other.channel_for("C0OTHER", "C0HELP") == "C0HELP"
    assert other.any_route()
    channels.change("C0POLICY", "U0ADMIN", escalate_to="none", audience="")
    assert channels.settings("C0POLICY").escalate_to is None and channels.audiences_for_channel("C0POLICY") == []
    assert not other.any_route()


@pytest.mark.parametrize("change, says", [
    ({"answer_mode": "sometimes"}, "Answer mode must be one of mention, auto, off"),
    ({"audience": "pilot; <!channel>"}, "is not an audience name"),
    ({"escalate_to": "#helpdesk"}, "Escalate to: Give the channel's id"),
    ({"escalate_to": "U0PERSON"}, "Escalate to: 'U0PERSON' is not a channel id"),
])
def test_bad_settings_are_refused_with_what_was_wrong_and_nothing_is_stored(channels, change, says):
    with pytest.raises(ChannelSettingsError, match=says):
        channels.change("C0POLICY", "U0ADMIN", **change)
    assert channels.store.all() == []


def test_settings_are_keyed_on_channel_ids_never_names(channels):
    for bad in ("#general", "general", "D0DIRECT", ""):
        with pytest.raises(ChannelSettingsError):
            channels.change(bad, "U0ADMIN", answer_mode="off")


def test_an_answer_is_shared_once_and_a_lost_claim_is_taken_over(sessions):
    store, shares = Store(sessions), ChannelStore(sessions)
    now = utc_now()
    conversation = store.record_conversation(user_id="U0ALICE", channel_id="C0POLICY", thread_ts="1.0",
                                             message_ts="1.0", source="mention", question="q", answer="a",
                                             answered=True, latency_ms=1, answerer="extractive", private=True)
    assert store.get_conversation(conversation.id).private is True

    assert shares.claim_share(conversation.id, "U0ALICE", "C0POLICY", "1.0", now) == "new"
    assert shares.claim_share(conversation.id, "U0ALICE", "C0POLICY", "1.0", now) == "sharing"
    later = now + SHARE_TAKEOVER + timedelta(seconds=1)  # the first process died before posting
    assert shares.claim_share(conversation.id, "U0ALICE", "C0POLICY", "1.0", later) == "new"
    shares.release_share(conversation.id)  # that post failed: pressing again tries again
    assert shares.claim_share(conversation.id, "U0ALICE", "C0POLICY", "1.0", later) == "new"
    shares.shared(conversation.id, "2.0", later)
    assert shares.claim_share(conversation.id, "U0ALICE", "C0POLICY", "1.0", later + SHARE_TAKEOVER * 2) == "posted"
    shares.release_share(conversation.id)  # a posted share is never released
    assert shares.share_of(conversation.id).posted_ts == "2.0"

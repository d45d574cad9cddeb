"""A setting whose value can't be used stops the start with a SettingError naming its environment variable, before
anything is built from it: ROLLOUT_SEND_RATE feeds the fan-out's SendPacer, which can't pace at 0, -1, nan or inf."""
from __future__ import annotations

import pytest

from bot.errors import SettingError
from bot.settings import Settings
from bot.slack.pacing import SendPacer


@pytest.mark.parametrize("value, wrong", [
    ("0", "greater than 0"), ("-2", "greater than 0"), ("nan", "finite number"), ("inf", "finite number"),
    ("ten", "valid number"),
])
def test_a_send_rate_the_pacer_cannot_use_is_refused_by_name(monkeypatch, value, wrong):
    monkeypatch.setenv("ROLLOUT_SEND_RATE", value)

    with pytest.raises(SettingError) as refused:
        Settings(_env_file=None)

    assert str(refused.value).startswith("ROLLOUT_SEND_RATE: ") and wrong in str(refused.value)
    assert "messages per second" in str(refused.value)


def test_a_fractional_send_rate_paces(monkeypatch):
    monkeypatch.setenv("ROLLOUT_SEND_RATE", "0.5")

    pacer = SendPacer(Settings(_env_file=None).rollout_send_rate)

    assert (pacer.capacity, pacer.window) == (1, 2.0)


def test_every_unusable_value_is_named_and_none_is_repeated(monkeypatch):
    monkeypatch.setenv("ROLLOUT_SEND_WORKERS", "0")
    monkeypatch.setenv("ROLLOUT_WORKERS", "xoxb-1234-secret")  # a token pasted into the wrong variable

    with pytest.raises(SettingError) as refused:
        Settings(_env_file=None)

    message = str(refused.value)
    assert "ROLLOUT_WORKERS: " in message and "ROLLOUT_SEND_WORKERS: " in message
    assert "xoxb-1234-secret" not in message

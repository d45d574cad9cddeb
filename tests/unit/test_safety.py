"""Secret and personal-data detection and redaction."""
from __future__ import annotations

import io
import logging
import re
import time

import pytest

from bot.answering.safety import (
    Finding,
    RedactingFilter,
    find_personal_data,
    find_secrets,
    has_secret,
    install_redacting_filter,
    redact,
    redact_personal_data,
    redact_secrets,
    secret_warning,
)

# Fake credentials in the documented formats; none of them is live.
SLACK_BOT_TOKEN = "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
SECRETS = [
    ("aws_access_key_id", "AKIAIOSFODNN7EXAMPLE"),
    ("aws_access_key_id", "ASIAY34FZKBOKMUTVV7A"),
    ("slack_token", SLACK_BOT_TOKEN),
    ("slack_token", "xoxp-123456789012-123456789012-123456789012-0123456789abcdef0123456789abcdef"),
    ("slack_token", "xapp-1-A0123456789-1234567890123-abcdef0123456789abcdef"),
    ("slack_webhook", "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"),
    ("github_token", "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"),
    ("github_token", "gho_16C7e42F292c6912E7710c838347Ae178B4a"),
    ("github_token", "ghs_16C7e42F292c6912E7710c838347Ae178B4a"),
    ("github_token", "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTU"),
    ("openai_api_key", "sk-proj-Abc123Def456Ghi789Jkl012Mno345Pqr678"),
    ("openai_api_key", "sk-Abc123Def456Ghi789Jkl012Mno345Pqr678Stu9"),
    ("google_api_key", "AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI"),
    ("jwt", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"),
    ("card_number", "4111 1111 1111 1111"),
    ("card_number", "5500-0000-0000-0004"),
    ("card_number", "340000000000009"),
    ("card_number", "6011000990139424"),
]
ASSIGNED_SECRETS = [  # (kind, text, the secret value inside it)
    ("aws_secret_access_key", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
     "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    ("aws_secret_access_key", "AWS_SECRET_ACCESS_KEY: \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\"",
     "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    ("password", "password=hunter2", "hunter2"),
    ("password", "Password: Tr0ub4dor&3", "Tr0ub4dor&3"),
    ("password", "PASSWORD = 'correct-horse-battery'", "correct-horse-battery"),
    ("password", "pwd=Secr3t!", "Secr3t!"),
    ("password", "passwd: letmein99", "letmein99"),
    ("password", "export DB_PASSWORD=s3cr3t-Value", "s3cr3t-Value"),
    ("password", "postgres://app:s3cr3tpw@db.internal:5432/rollout", "s3cr3tpw"),
    ("api_key", "api_key=f3a9c2e1b7d84a6f9e0c", "f3a9c2e1b7d84a6f9e0c"),
    ("api_key", "client_secret: 9d8c7b6a5f4e3d2c1b0a", "9d8c7b6a5f4e3d2c1b0a"),
    ("api_key", "TOKEN=Zm9vYmFyYmF6cXV4MTIzNDU2", "Zm9vYmFyYmF6cXV4MTIzNDU2"),
]
PRIVATE_KEY = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi\n"
    "Z1BjP5CE/Wm/Rr500PRK+Lh9x5eJPo5CAZ3/ANBE0sTK0\n"
    "-----END RSA PRIVATE KEY-----"
)
INNOCENT = [
    "What is our password policy for AI tools?",
    "Password: must be at least 12 characters, right?",
    "I forgot my password: can you help?",
    "Reset your password: https://id.example.com/reset",
    "Set password=${DB_PASSWORD} in the config, or password=os.environ['DB_PASSWORD']",
    "password = ******** and api_key=YOUR_API_KEY_HERE are placeholders",
    "The policy took effect on 2024-01-15 and was revised in 2025.",
    "Upgrade from v1.2.3 to 10.0.19045.2006 before 15/01/2024.",
    "Ticket 123456 is about 3 tokens: a, b and c.",
    "Our budget is 1,000,000 and the ts is 1712345678.123456",
    "Order 4111 1111 1111 1112 failed the check",  # Luhn fails
    "1234-5678-9012-3456",  # Luhn fails
    "0000 0000 0000 0000",  # passes Luhn, but no card
    "the sk-learn library and ghp_short",
    "Ask about the secret sauce: it is prompts",
]


def assert_no_fragment(secret: str, text: str, size: int = 6) -> None:
    """No run of `size` characters of the secret survives in `text` (outside the redaction markers)."""
    text = re.sub(r"\[REDACTED:\w+\]|\[EMAIL\]|\[PHONE\]", "|", text)
    for i in range(len(secret) - size + 1):
        assert secret[i : i + size] not in text, f"fragment {secret[i:i + size]!r} leaked"


@pytest.mark.parametrize(("kind", "secret"), SECRETS)
def test_finds_and_redacts_each_kind_of_secret(kind: str, secret: str) -> None:
    text = f"Here it is: {secret} - is that allowed?"
    findings = find_secrets(text)
    assert [(f.kind, text[f.start:f.end]) for f in findings] == [(kind, secret)]
    redacted = redact_secrets(text)
    assert redacted == f"Here it is: [REDACTED:{kind}] - is that allowed?"
    assert_no_fragment(secret, redacted)
    assert has_secret(text)


@pytest.mark.parametrize(("kind", "text", "value"), ASSIGNED_SECRETS)
def test_redacts_the_value_of_an_assignment_and_keeps_its_name(kind: str, text: str, value: str) -> None:
    [finding] = find_secrets(text)
    assert (finding.kind, text[finding.start:finding.end]) == (kind, value)
    redacted = redact_secrets(text)
    assert f"[REDACTED:{kind}]" in redacted
    assert_no_fragment(value, redacted, size=4)


def test_redacts_a_private_key_block_and_keeps_the_text_around_it() -> None:
    text = f"my key:\n{PRIVATE_KEY}\nthanks"
    assert redact_secrets(text) == "my key:\n[REDACTED:private_key]\nthanks"
    assert_no_fragment(PRIVATE_KEY, redact_secrets(text))


def test_redacts_a_truncated_private_key_to_the_end() -> None:
    text = "key: " + PRIVATE_KEY.split("-----END")[0]
    assert redact_secrets(text) == "key: [REDACTED:private_key]"


def test_specific_kinds_win_over_generic_assignments() -> None:
    text = f"SLACK_BOT_TOKEN={SLACK_BOT_TOKEN}\nOPENAI_API_KEY={SECRETS[10][1]}"
    assert [f.kind for f in find_secrets(text)] == ["slack_token", "openai_api_key"]


def test_finds_several_secrets_in_position_order() -> None:
    text = f"id AKIAIOSFODNN7EXAMPLE then password=hunter2 and {SLACK_BOT_TOKEN}"
    assert [f.kind for f in find_secrets(text)] == ["aws_access_key_id", "password", "slack_token"]
    assert redact_secrets(text) == (
        "id [REDACTED:aws_access_key_id] then password=[REDACTED:password] and [REDACTED:slack_token]"
    )


@pytest.mark.parametrize("text", INNOCENT)
def test_ordinary_text_has_no_secret(text: str) -> None:
    assert find_secrets(text) == []
    assert not has_secret(text)
    assert redact_secrets(text) == text


def test_a_finding_never_shows_the_secret() -> None:
    text = f"token {SLACK_BOT_TOKEN}"
    [finding] = find_secrets(text)
    assert finding == Finding("slack_token", 6, len(text))
    for shown in (repr(finding), str(finding), repr(find_secrets(text))):
        assert_no_fragment(SLACK_BOT_TOKEN, shown)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Mail jane.doe+ai@example.co.uk today", "jane.doe+ai@example.co.uk"),
        ("call +44 20 7946 0958 now", "+44 20 7946 0958"),
        ("call +44 (0)20 7946 0958 now", "+44 (0)20 7946 0958"),
        ("call +447700900123 now", "+447700900123"),
        ("call +1-512-555-0134 now", "+1-512-555-0134"),
        ("call (512) 555-0134 now", "(512) 555-0134"),
        ("call 512-555-0134 now", "512-555-0134"),
        ("call 512.555.0134 now", "512.555.0134"),
        ("call 07700 900123 now", "07700 900123"),
        ("call 07700900123 now", "07700900123"),
        ("call 020 7946 0958 now", "020 7946 0958"),
    ],
)
def test_finds_personal_data(text: str, found: str) -> None:
    [finding] = find_personal_data(text)
    assert text[finding.start:finding.end] == found


@pytest.mark.parametrize(
    "text",
    [
        "The policy was adopted in 2024 and revised on 2025-03-01.",
        "Dates like 15/01/2024, 15.01.2024 and 01-02-2024 are not phones.",
        "Install 10.0.19045.2006 or v1.2.3; see section 4.2.1.",
        "Room 12345, ext. 4021, 3 people, ticket #987654",
        "Server 192.168.100.200 and ts 1712345678.123456",
        "Write to the team@ channel, not an address",
    ],
)
def test_ordinary_text_has_no_personal_data(text: str) -> None:
    assert find_personal_data(text) == []
    assert redact_personal_data(text) == text


def test_redacts_personal_data() -> None:
    text = "I'm jane@example.com, +44 20 7946 0958 or (512) 555-0134."
    assert redact_personal_data(text) == "I'm [EMAIL], [PHONE] or [PHONE]."


def test_redact_removes_secrets_and_personal_data() -> None:
    text = f"From bob@example.com (07700 900123): my token is {SLACK_BOT_TOKEN}, password: Tr0ub4dor&3"
    redacted = redact(text)
    assert redacted == (
        "From [EMAIL] ([PHONE]): my token is [REDACTED:slack_token], password: [REDACTED:password]"
    )
    for part in ("bob@example.com", "07700 900123", SLACK_BOT_TOKEN, "Tr0ub4dor&3"):
        assert_no_fragment(part, redacted, size=5)


@pytest.mark.parametrize(
    "text",
    ["a" * 50_000, "1" * 50_000, "a." * 25_000, "password: " * 5_000, "a://" * 12_500, "1 " * 25_000,
     "-----BEGIN RSA PRIVATE KEY-----" + "a" * 50_000, "aaaa@" * 10_000],
    ids=["letters", "digits", "dotted", "password-prose", "schemes", "spaced-digits", "open-key", "at-signs"],
)
def test_redaction_takes_linear_time_on_hostile_input(text: str) -> None:
    # Anyone can post a long message; a quadratic pattern here would stall every handler for minutes.
    started = time.perf_counter()
    redact(text)
    assert time.perf_counter() - started < 2.0


def test_secret_warning_names_the_kinds_and_the_steps_but_not_the_value() -> None:
    text = "AKIAIOSFODNN7EXAMPLE and password=hunter2 and AKIAIOSFODNN7EXAMPLF"
    warning = secret_warning(find_secrets(text))
    assert "an AWS access key ID and a password" in warning
    assert warning.count("AWS access key ID") == 1
    for step in ("Delete the message", "Rotate or revoke", "/rollout incident", "security team", "did not store"):
        assert step in warning
    assert "hunter2" not in warning and "AKIA" not in warning


def test_secret_warning_lists_three_kinds_naturally() -> None:
    findings = [Finding("slack_token", 0, 1), Finding("jwt", 2, 3), Finding("card_number", 4, 5)]
    assert "a Slack token, a JSON Web Token and a payment card number" in secret_warning(findings)


def _logger(name: str, redacting: RedactingFilter | None = None) -> tuple[logging.Logger, io.StringIO]:
    """A logger writing "<name> <message>" lines into a string, with `redacting` on the logger if given."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    logger = logging.getLogger(f"rollout.test.safety.{name}")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    if redacting is not None:
        logger.addFilter(redacting)
    return logger, stream


def test_redacting_filter_cleans_messages_and_args() -> None:
    logger, stream = _logger("args", RedactingFilter())
    logger.info("connecting with %s", SLACK_BOT_TOKEN)
    logger.info("config %(key)s", {"key": "password=hunter2"})
    logger.info(f"mixed {SECRETS[6][1]} for jane@example.com")
    output = stream.getvalue()
    assert "connecting with [REDACTED:slack_token]" in output
    assert "config password=[REDACTED:password]" in output
    assert "[REDACTED:github_token] for jane@example.com" in output
    assert_no_fragment(SLACK_BOT_TOKEN, output)


def test_redacting_filter_cleans_tracebacks_and_optionally_personal_data() -> None:
    logger, stream = _logger("traceback", RedactingFilter(personal_data=True))
    try:
        raise RuntimeError(f"auth failed for {SLACK_BOT_TOKEN}")
    except RuntimeError:
        logger.exception("call from jane@example.com failed")
    output = stream.getvalue()
    assert "call from [EMAIL] failed" in output
    assert "RuntimeError: auth failed for [REDACTED:slack_token]" in output
    assert_no_fragment(SLACK_BOT_TOKEN, output)


def test_installed_filter_also_cleans_records_from_child_loggers() -> None:
    parent, stream = _logger("tree")
    install_redacting_filter(parent)
    install_redacting_filter(parent)  # idempotent
    logging.getLogger("rollout.test.safety.tree.slack_bolt").warning("token %s", SLACK_BOT_TOKEN)
    assert stream.getvalue() == "rollout.test.safety.tree.slack_bolt token [REDACTED:slack_token]\n"
    assert sum(isinstance(f, RedactingFilter) for f in parent.handlers[0].filters) == 1


ADVERSARIAL = {"percent signs": "%", "local parts": "a%", "ats": "a@", "dotted": "a@a.", "schemes": "a://b:",
               "digits": "1-", "plus signs": "+1 ", "key words": "password ", "jwt heads": "eyJ.", "dashes": "-"}


@pytest.mark.parametrize("unit", ADVERSARIAL.values(), ids=ADVERSARIAL.keys())
def test_screening_is_linear_on_adversarial_text(unit):
    """"%" * 40,000 took over a second in the e-mail pattern (every position scanned to the end); each adversarial
    input now costs about what ordinary text of the same length does. A ratio in one run, not a wall-clock bound."""
    length = 40_000
    hostile, benign = (unit * (length // len(unit) + 1))[:length], ("hello world " * (length // 12 + 1))[:length]

    def cost(text: str) -> float:
        return min(_timed(redact, text) for _ in range(3))

    assert cost(hostile) < 8 * cost(benign)


def _timed(function, text: str) -> float:
    started = time.perf_counter()
    function(text)
    return time.perf_counter() - started


# What issue 13 listed beyond the first screen, found through detect-secrets' plugins or the patterns it lacks.
MORE_SECRETS = [  # (kind, text, the part that must go)
    ("private_key", "-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQOYBF0abc\n-----END PGP PRIVATE KEY BLOCK-----",
     "lQOYBF0abc"),
    ("private_key", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n-----END OPENSSH PRIVATE KEY-----",
     "b3BlbnNzaC1rZXk"),
    ("private_key", "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBv\n-----END EC PRIVATE KEY-----", "MHcCAQEEIBv"),
    ("password", "ftp://:Sup3rSecret@files.example.com", "Sup3rSecret"),
    ("authorization", "curl -H 'Authorization: Bearer q9Xv2LmT8sR4pW7zN1cK' https://api.example.com",
     "q9Xv2LmT8sR4pW7zN1cK"),
    ("authorization", "Authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA=="),
    ("password", "my password is hunter2horse, can I share it with IT?", "hunter2horse"),
    ("password", "the root passcode was 4471-xyz", "4471-xyz"),
    ("password", "pw: S3cr3t!x9", "S3cr3t!x9"),
    ("api_key", "the token is 9f8e7d6c5b4a39281706f5e4", "9f8e7d6c5b4a39281706f5e4"),
    ("stripe_access_key", "stripe sk_live_" + "a1B2c3D4e5F6g7H8i9J0k1L2", "sk_live_a1B2c3D4e5F6g7H8i9J0k1L2"),
    ("npm_token", "//registry.npmjs.org/:_authToken=npm_" + "a" * 18 + "B1" * 9, "aaaaB1B1"),
    ("jwt", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
     "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"),  # the signature too, not only the lazy plugin match
]
# Ordinary questions carry numbers, dates, versions, ids, addresses and colours: none is a secret.
ORDINARY_QUESTIONS = [
    "Is policy 4.2.1 still in force after 2026-12-01?",
    "Call the Security Desk on +44 20 7946 0958 or ext. 4471",
    "are IP addresses like 203.0.113.7 and account IDs sensitive info?",
    "Ticket INC-0012345 and JIRA ROLL-982 are about the same leak",
    "We upgraded from 3.11.7 to 3.12.1 and the colour is #ff00aa",
    "see https://intranet.example.com/policies/ai-use?section=3#tools",
    "my password is expired, who resets it?",
    "The password is at least 14 characters, right?",
    "what is the token limit for Kestrel Copilot? the secret is good prompts",
    "our API key rotation policy says every 90 days",
    "the key is to classify data before pasting it",
    "my pin is not working on the badge reader",
    "Can I use a bearer of bad news template in Copilot?",
]


@pytest.mark.parametrize(("kind", "text", "secret"), MORE_SECRETS)
def test_finds_each_further_kind_and_leaves_none_of_it(kind: str, text: str, secret: str) -> None:
    assert kind in [f.kind for f in find_secrets(text)]
    assert secret not in redact_secrets(text)
    assert f"[REDACTED:{kind}]" in redact_secrets(text)


@pytest.mark.parametrize("text", ORDINARY_QUESTIONS)
def test_no_false_positive_on_ordinary_questions(text: str) -> None:
    assert find_secrets(text) == [], redact_secrets(text)


def test_every_credential_plugin_of_detect_secrets_is_used_or_left_out_for_a_reason() -> None:
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.plugins.base import RegexBasedDetector

    from bot.answering.safety import _LEFT_OUT, _secret_patterns

    used = {type(plugin).__name__ for _, _, plugin in _secret_patterns() if plugin is not None}
    regex_plugins = {c.__name__ for c in get_mapping_from_secret_type_to_class().values()
                     if issubclass(c, RegexBasedDetector)}
    assert used == regex_plugins - _LEFT_OUT and "AWSKeyDetector" in used


def test_a_warning_names_a_kind_only_detect_secrets_knows() -> None:
    warning = secret_warning(find_secrets("sk_live_a1B2c3D4e5F6g7H8i9J0k1L2"))
    assert "a Stripe Access Key" in warning and "sk_live" not in warning

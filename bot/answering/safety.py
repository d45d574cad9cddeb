"""Secret and personal-data detection and redaction: pure functions, no Slack."""
from __future__ import annotations

import bisect
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

_TAIL = r"(?![A-Za-z0-9_\-])"  # a token ends where token characters stop ("\b" fails after "-")
_ASSIGNED = r"\s*[:=]\s*[\"'`]?"

_Patterns = tuple[tuple[str, re.Pattern[str]], ...]
# Shannon entropy (bits per character) above which a long string beside "token"/"key" is taken for a key.
_ENTROPY = 4.0

# Credentials are found by Yelp's detect-secrets plugins (maintained formats: AWS, Slack, GitHub, GitLab, OpenAI, JWT,
# Stripe, npm, PyPI, Twilio…) and by the patterns below for what those plugins lack or find too loosely: whole private
# key blocks of every kind, webhook URLs, assignments and prose that state a password, Authorization headers, Google
# keys, AWS secret keys, card numbers, and high-entropy strings beside a secret-ish word. Specific kinds first: where
# two findings overlap, the earlier (more specific) one wins.
_SPECIFIC_PATTERNS: _Patterns = (
    ("private_key", re.compile(  # RSA, EC, DSA, OpenSSH, encrypted PKCS#8 and PGP ("PRIVATE KEY BLOCK") alike
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
        r"(?:.*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|.*)",
        re.DOTALL)),  # a truncated paste without its END line is redacted to the end of the text
    ("slack_webhook", re.compile(r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_\-]+")),
    ("password", re.compile(  # URLs with credentials, any scheme, empty user too: postgres://user:pass@host
        r"(?i)(?<![a-z0-9+.\-])[a-z][a-z0-9+.\-]*://[^\s:/@]*:(?P<value>[^\s@/]+)@")),
    ("authorization", re.compile(
        r"(?i)\b(?:authorization|proxy-authorization)\s*[:=]\s*[\"']?(?:bearer|basic|token|digest|apikey)\s+"
        r"(?P<value>[A-Za-z0-9\-._~+/]{8,}=*)")),
    ("aws_secret_access_key", re.compile(
        r"(?i)aws_?secret_?access_?key" + _ASSIGNED + r"(?P<value>[A-Za-z0-9/+=]{30,})")),
    ("authorization", re.compile(r"(?i)\bbearer\s+(?P<value>[A-Za-z0-9\-._~+/]{16,}=*)")),
)
_GENERIC_PATTERNS: _Patterns = (
    ("google_api_key", re.compile(r"(?<![A-Za-z0-9])AIza[0-9A-Za-z_\-]{35}" + _TAIL)),
    ("openai_api_key", re.compile(r"(?<![A-Za-z0-9])sk-[A-Za-z0-9_\-]{20,}" + _TAIL)),  # detect-secrets: legacy only
    ("slack_token", re.compile(r"(?<![A-Za-z0-9])(?:xox[abprse]|xapp)-[A-Za-z0-9\-]{10,}")),  # xapp-, xoxe-
    ("github_token", re.compile(r"(?<![A-Za-z0-9])(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})")),
    ("npm_token", re.compile(r"(?<![A-Za-z0-9])npm_[A-Za-z0-9]{36}" + _TAIL)),
    ("npm_token", re.compile(r"(?i)_authToken\s*=\s*(?P<value>[^\s\"'`]{8,})")),
    ("password", re.compile(
        r"(?i)(?<!\w)(?:\w*?(?:password|passwd|passphrase|pwd)|pw|pass|passcode)" + _ASSIGNED
        + r"(?P<value>[^\s\"'`]+)")),
    ("password", re.compile(  # "my password is hunter2", "the root passcode was 4471-xyz"
        r"(?i)\b(?:my|our|the|his|her|their|your|its)\s+(?:[\w\-]+\s+){0,2}?(?:password|passwd|passphrase|"
        r"passcode|pin|pw)\s+(?:is|was|is now|=|:)\s+[\"'`]?(?P<value>[^\s\"'`]+)")),
    ("api_key", re.compile(
        r"(?i)(?<!\w)\w*?(?:api_?key|secret|token)" + _ASSIGNED + r"(?P<value>[A-Za-z0-9_\-./+=~]{16,})")),
    ("api_key", re.compile(  # "the token is 9f8e…", "key: Zm9v…": checked for entropy, not just length
        r"(?i)\b(?:api[ _]?key|access[ _]?key|secret|token|credential|credentials|client[ _]secret|key)s?"
        r"(?:\s+(?:is|was|=|:)|\s*[:=])\s*[\"'`]?(?P<value>[A-Za-z0-9_\-./+=~]{16,})")),
    ("card_number", re.compile(r"(?<![\d\-])\d(?:[ \-]?\d){12,18}(?![\d\-])")),
)

# detect-secrets' names for the kinds we also name, so a finding reads the same whoever found it.
_DETECTOR_KINDS = {"AWS Access Key": "aws_access_key_id", "Slack Token": "slack_token", "GitHub Token": "github_token",
                   "OpenAI Token": "openai_api_key", "JSON Web Token": "jwt", "Private Key": "private_key",
                   "Basic Auth Credentials": "password"}
# Plugins left out: an IP address in a question is no secret; the npm plugin's "//.+/:_authToken" takes quadratic time
# on text like "a://b:" repeated (2.3 s for 40,000 characters), so npm tokens have a linear pattern of ours.
_LEFT_OUT = frozenset({"IPPublicDetector", "NpmDetector"})
# A detect-secrets pattern with context around the secret ("aws … '<40 chars>'") redacts its longest group of at least
# this length; else the whole match ("ghp_…" whose only group is the prefix).
_MIN_GROUP = 16
_TOKEN_REST = re.compile(r"[A-Za-z0-9_\-.+/=]*(?<![.])")


@lru_cache(maxsize=1)
def _secret_patterns() -> tuple[tuple[str, re.Pattern[str], object], ...]:
    """Ours for what detect-secrets lacks, first where more specific; then every credential plugin of detect-secrets
    (its patterns, each match confirmed by the plugin itself: a JWT must decode); then our generic patterns."""
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.plugins.base import RegexBasedDetector

    plugins = []
    for plugin_class in get_mapping_from_secret_type_to_class().values():
        if issubclass(plugin_class, RegexBasedDetector) and plugin_class.__name__ not in _LEFT_OUT:
            plugin = plugin_class()
            kind = _DETECTOR_KINDS.get(plugin.secret_type) or re.sub(r"\W+", "_", plugin.secret_type.lower()).strip("_")
            _SECRET_LABELS.setdefault(kind, _with_article(plugin.secret_type))
            plugins += [(kind, pattern, plugin) for pattern in plugin.denylist]
    return (*((kind, pattern, None) for kind, pattern in _SPECIFIC_PATTERNS), *plugins,
            *((kind, pattern, None) for kind, pattern in _GENERIC_PATTERNS))


def _with_article(name: str) -> str:
    return f"{'an' if name[:1].upper() in 'AEIOU' else 'a'} {name}"


_PERSONAL_PATTERNS: _Patterns = (
    # Bounded as RFC 5321 bounds them (local part 64, labels 63): unbounded, "%" * 40,000 took over a second, since
    # every position started a scan to the end of the text for an "@".
    ("email", re.compile(r"(?<![\w.%+\-])[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63}){0,8}"
                         r"\.[A-Za-z]{2,24}(?![A-Za-z])")),
    ("phone", re.compile(r"(?<![\w+])\+\d{1,3}(?:[ .\-]?\(?\d{1,4}\)?){2,5}(?!\d)")),
    ("phone", re.compile(r"(?<![\w(])(?:1[ .\-])?\(\d{3}\)[ .\-]?\d{3}[ .\-]\d{4}(?!\d)")),
    ("phone", re.compile(r"(?<![\w.+\-])(?:1[ .\-])?\d{3}([.\-])\d{3}\1\d{4}(?![\w\-]|\.\d)")),
    ("phone", re.compile(r"(?<![\w.+\-/])0[1-9](?:[ \-]?\d){8,9}(?![\w\-/]|\.\d)")),  # UK: 07700 900123
)

# Values that name or stand in for a secret rather than being one: "********", "<your password>",
# "${DB_PASSWORD}", "DB_PASSWORD", "settings.db_password", "get_password()", a link to a reset page.
_PLACEHOLDER = re.compile(
    r"^(?:\*+|[xX]+|\.+|<.*|\$\{?\w+\}?|\{\{.*|%\(?\w+\)?s?|[A-Z]+(?:_[A-Z0-9]+)+"
    r"|(?:os|self|settings|config|env|process)\.[\w.]+[\[(]?\w*|\w+\(\)?|https?://.*)[,;.]?$"
)
# "Password: must be 12 characters" is prose about passwords, not a password.
_PROSE_WORDS = frozenset(
    "a about also an and are at be being can change changes could do does expired for forgot has have help how is it "
    "least longer more must needed not now same set shorter still stored too used "
    "never no none not or please policy policies required requirements reset rule rules should the "
    "to was what when where which who why will with".split()
)

_SECRET_LABELS = {
    "private_key": "a private key",
    "slack_webhook": "a Slack webhook URL",
    "slack_token": "a Slack token",
    "aws_access_key_id": "an AWS access key ID",
    "aws_secret_access_key": "an AWS secret access key",
    "github_token": "a GitHub token",
    "openai_api_key": "an OpenAI-style API key",
    "google_api_key": "a Google API key",
    "jwt": "a JSON Web Token",
    "password": "a password",
    "api_key": "an API key or token",
    "card_number": "a payment card number",
    "authorization": "an Authorization header",
    "npm_token": "an npm token",
}

_PERSONAL_LABELS = {"email": "[EMAIL]", "phone": "[PHONE]"}


@dataclass(frozen=True)
class Finding:
    """Where a secret or a piece of personal data sits in a text; never the value itself."""

    kind: str
    start: int
    end: int


def find_secrets(text: str) -> list[Finding]:
    """Secrets in `text` (keys, tokens, passwords, card numbers), in order of position."""
    return _find(text, _secret_patterns(), _is_secret)


def find_personal_data(text: str) -> list[Finding]:
    """Email addresses and phone numbers in `text`, in order of position."""
    return _find(text, _PERSONAL_PATTERNS, _is_personal_data)


def has_secret(text: str) -> bool:
    """Whether `text` contains anything `find_secrets` would report."""
    return bool(find_secrets(text))


def redact_secrets(text: str) -> str:
    """`text` with each secret replaced by `[REDACTED:<kind>]`."""
    return _replace(text, find_secrets(text), lambda kind: f"[REDACTED:{kind}]")


def redact_personal_data(text: str) -> str:
    """`text` with email addresses replaced by `[EMAIL]` and phone numbers by `[PHONE]`."""
    return _replace(text, find_personal_data(text), _PERSONAL_LABELS.__getitem__)


def redact(text: str) -> str:
    """`text` without secrets or personal data: what we may store or log."""
    return redact_personal_data(redact_secrets(text))


def secret_warning(findings: Iterable[Finding]) -> str:
    """The warning for an employee who posted a secret: what kind and what to do (callers must not store it)."""
    kinds = list(dict.fromkeys(f.kind for f in findings))
    what = _join([_SECRET_LABELS.get(kind, "a secret") for kind in kinds]) or "a secret"
    return (
        f":warning: Your message looks like it contains {what}. I did not store it.\n"
        "Please, right away:\n"
        "1. *Delete the message now* (hover over it, choose *More actions* then *Delete message*).\n"
        "2. *Rotate or revoke the secret* wherever it was issued: treat it as exposed, "
        "even if you delete the message quickly.\n"
        "3. *Report it* with `/rollout incident`, or tell the security team.\n"
        "If you still need an answer, ask again without the secret and I'll gladly help."
    )


class RedactingFilter(logging.Filter):
    """Removes secrets from log records before any handler writes them."""

    def __init__(self, name: str = "", *, personal_data: bool = False) -> None:
        super().__init__(name)
        self._redact = redact if personal_data else redact_secrets

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message (and traceback) in redacted form; never drop it."""
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: let the handler report it as logging normally does
            return True
        record.msg, record.args = self._redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self._redact(record.stack_info)
        return True


def install_redacting_filter(logger: logging.Logger | None = None, *, personal_data: bool = False) -> None:
    """Attach one `RedactingFilter` to `logger` (default: root) and to its handlers; call after adding them."""
    # A logger's own filters skip records propagated from child loggers (slack_bolt, sqlalchemy, ...);
    # handler filters see every record the handler writes.
    logger = logger or logging.getLogger()
    redacting = RedactingFilter(personal_data=personal_data)
    for target in (logger, *logger.handlers):
        if not any(isinstance(f, RedactingFilter) for f in target.filters):
            target.addFilter(redacting)


def _find(text: str, patterns, accept: Callable[[str, str], bool]) -> list[Finding]:
    taken: list[Finding] = []  # sorted by start, never overlapping
    for kind, pattern, *plugin in patterns:
        detector = plugin[0] if plugin else None
        group = "value" if "value" in pattern.groupindex else 0
        for match in pattern.finditer(text):
            if detector is not None:
                if any(True for _ in detector.analyze_string(match.group(0))):  # the plugin's own checks
                    _take(taken, Finding(kind, *_secret_span(match)))
            elif accept(kind, match.group(group)):
                _take(taken, Finding(kind, *match.span(group)))
    return taken


def _secret_span(match: re.Match[str]) -> tuple[int, int]:
    groups = [g for g in range(1, (match.re.groups or 0) + 1) if match.group(g) and len(match.group(g)) >= _MIN_GROUP]
    start, end = match.span(max(groups, key=lambda g: len(match.group(g)))) if groups else match.span()
    # Some plugin patterns stop short (the JWT one is lazy and leaves the signature): redact to the token's end.
    rest = _TOKEN_REST.match(match.string, end)
    return start, rest.end() if rest else end


def _take(taken: list[Finding], finding: Finding) -> None:
    """Keep `finding` unless it overlaps one taken earlier, by a more specific pattern."""
    at = bisect.bisect_left(taken, finding.start, key=lambda f: f.start)
    clear_before = at == 0 or taken[at - 1].end <= finding.start
    clear_after = at == len(taken) or finding.end <= taken[at].start
    if clear_before and clear_after:
        taken.insert(at, finding)


def _is_secret(kind: str, value: str) -> bool:
    if kind == "card_number":
        return _passes_luhn(re.sub(r"\D", "", value))
    if kind == "password":
        return not _PLACEHOLDER.match(value) and value.lower().rstrip(",;.?!") not in _PROSE_WORDS
    if kind == "api_key":
        return not _PLACEHOLDER.match(value) and _looks_random(value)
    return True


def _looks_random(value: str) -> bool:
    """A key, not a word: mixed letters and digits, or the spread of characters random strings have (detect-secrets'
    Shannon entropy; "confidentiality-levels" stays prose)."""
    from detect_secrets.plugins.high_entropy_strings import Base64HighEntropyString

    has_digit, has_alpha = any(c.isdigit() for c in value), any(c.isalpha() for c in value)
    return (has_digit and has_alpha) or Base64HighEntropyString().calculate_shannon_entropy(value) >= _ENTROPY


def _is_personal_data(kind: str, value: str) -> bool:
    digits = len(re.sub(r"\D", "", value))
    return kind != "phone" or 8 <= digits <= 15


def _passes_luhn(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0 and len(set(digits)) > 1  # "0000 0000 0000 0000" passes Luhn but is no card


def _replace(text: str, findings: list[Finding], replacement: Callable[[str], str]) -> str:
    pieces, position = [], 0
    for finding in findings:  # sorted and never overlapping
        pieces += [text[position : finding.start], replacement(finding.kind)]
        position = finding.end
    return "".join(pieces) + text[position:]


def _join(labels: list[str]) -> str:
    if len(labels) <= 1:
        return "".join(labels)
    return ", ".join(labels[:-1]) + " and " + labels[-1]

"""Which channel messages are questions, for channels whose answer mode is `auto` (issue 15).

A small rule classifier over features of the message, not a trailing "?" alone: a message opening (or a clause
opening) with an auxiliary or modal followed by its subject ("can I…", "is there…", "does anyone…"), a wh-word
followed by a verb ("how do…", "what's…"), an indirect question ("anyone know…", "I wonder whether…", "not sure
if…"), and a question mark, against very short messages ("lunch?"), exclamations ("how cool is that!"), and
wh-words that open a statement ("what I meant was…", "when the pilot ends…"). Each feature adds a weight; a message
is a question when the score reaches QUESTION_SCORE. Measured on tests/data/channel_messages.jsonl (README).
"""
from __future__ import annotations

import re

QUESTION_SCORE = 2.0

AUXILIARIES = frozenset(
    "am is are was were do does did have has had can could may might must shall should will would "
    "isn't aren't wasn't weren't don't doesn't didn't haven't hasn't can't couldn't shouldn't won't wouldn't".split())
WH_WORDS = frozenset("what what's whats when where where's which who who's whom whose why how how's".split())
SUBJECTS = frozenset(
    "i we you they he she it anyone anybody someone somebody everyone there this that these those the a an our my "
    "your their his her its contractors people interns employees".split())
# A wh-word followed by one of these opens a clause that states something ("what I meant", "when the pilot ends").
STATEMENT_AFTER_WH = frozenset("i we you they he she it the a an our my this that there".split())
EXCLAMATIVE = re.compile(r"^(what an? |how (cool|nice|great|good|fun|amazing|awesome|lovely)\b|who (knew|cares)\b|why not\b)")
INDIRECT = re.compile(
    r"\b(any ?(one|body) (know|knows|tried|seen)|does any ?(one|body) know|who knows|i wonder|wondering (if|whether|who|what|when|where|how|why|which)|any idea|"
    r"not sure (if|whether)|can (some|any)(one|body) (tell|explain|help)|help me understand|quick question|"
    r"need to know|looking for|tell me (where|what|when|how|who|which|if|whether)|is there an?y?\b|are there\b|"
    r"i'?d like to know|how come)")
FILLER = re.compile(r"^(?:(?:hey|hi|hello|morning|so|ok|okay|um|quick one|team|all|folks|everyone|guys|@\w+)"
                    r"[\s,:;!\-–—]*)+")
MARKUP = re.compile(r"<[^>]*>|:[a-z0-9_+\-]+:")
CLAUSES = re.compile(r"[.!?;:\n]+|\s[-–—]\s|,\s")


def question_score(text: str) -> float:
    """The classifier's score for a message: QUESTION_SCORE or more reads as a question."""
    plain = MARKUP.sub(" ", text or "").strip()
    words = re.findall(r"[\w'’]+", plain.lower().replace("’", "'"))
    if not words:
        return 0.0
    lowered = " ".join(plain.lower().replace("’", "'").split())
    score = 0.0
    if lowered.rstrip(" )\"'🙏😅🙂").endswith("?"):
        score += 1.5
    elif "?" in lowered:
        score += 1.0
    score += max((_clause_score(c) for c in _clauses(lowered)), default=0.0)
    if INDIRECT.search(lowered):
        score += 2.0
    if len(words) < 3:
        score -= 2.5
    if "!" in lowered and "?" not in lowered:
        score -= 1.0
    if re.search(r"\bplease\b", lowered) and "?" not in lowered:
        score -= 1.5  # a request to the channel ("do the training by Friday please")
    if EXCLAMATIVE.match(_without_filler(lowered)):
        score -= 3.0
    return score


def is_question(text: str) -> bool:
    """Whether a channel message asks something (the knowledge base then decides whether it can answer it)."""
    return question_score(text) >= QUESTION_SCORE


def _clauses(text: str) -> list[str]:
    return [_without_filler(c.strip()) for c in CLAUSES.split(text) if c.strip()]


def _without_filler(clause: str) -> str:
    return FILLER.sub("", clause).strip()


def _clause_score(clause: str) -> float:
    """How strongly a clause's opening reads as a question: an inverted auxiliary or a wh-word and its verb."""
    words = re.findall(r"[\w']+", clause)
    if len(words) < 2:
        return 0.0
    first, second = words[0], words[1]
    if first == "so" and len(words) > 2:
        first, second = words[1], words[2]
    if first in AUXILIARIES:
        return 2.0 if second in SUBJECTS else 0.0
    if first in WH_WORDS:
        if second in STATEMENT_AFTER_WH and not first.endswith("'s"):
            return 0.5
        return 2.0
    return 0.0

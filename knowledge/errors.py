"""Exceptions of the knowledge engine; their messages are safe to show a user.

`RolloutError` is the root of every such error in Rollout: the knowledge engine's here, the bot's features' through
bot/errors.py (knowledge/ is the lower layer, so the root lives here and the bot imports it). The edges turn any
RolloutError into its message — one line on the CLI (bot/cli_errors.py), a friendly reply in Slack."""


class RolloutError(Exception):
    """Something the person who caused it can act on; str(exc) says what to do next."""


class KnowledgeError(RolloutError):
    """Base class of the knowledge engine's errors."""


class UnreadableDocument(KnowledgeError):
    """A file could not be read: unsupported, corrupt or unreadable."""


class BadQuestion(KnowledgeError):
    """A question that cannot be answered as asked (empty, too long)."""


class IndexUnavailable(KnowledgeError):
    """The index (Chroma) could not be reached or opened."""


class ChromaUnreachable(IndexUnavailable):
    """CHROMA_URL names a server that did not answer: down, or still starting beside us."""


class NotIndexed(KnowledgeError):
    """A document asked for by path that is not in the index."""

"""Exceptions of the knowledge engine; their messages are safe to show a user."""


class KnowledgeError(Exception):
    """Base class: something the user can act on."""


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

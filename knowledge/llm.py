"""The `llm` answerer: a langchain chat model answers from the numbered, fenced sources and cites them.

ROLLOUT_ANSWERER=llm:<provider>:<model>, e.g. `llm:openai:gpt-4o-mini`, or `llm:ollama:llama3` with langchain-ollama
installed: any provider langchain's `init_chat_model` knows. For `openai`, OPENAI_BASE_URL points the model at any
OpenAI-compatible endpoint (vLLM, Ollama, LM Studio, an Azure or company gateway); with a base URL and no
OPENAI_API_KEY a placeholder key is sent, as local servers want none.

The messages come from prompts/answer_system.md and prompts/answer_user.md; every Answer records their combined
version. Retrieved passages go in as <source id="n"> blocks and the thread's earlier turns as <turn> blocks, both
through `prompts.data_block`, so a document cannot close its fence and pass its text off as instructions. The reply
becomes an Answer:
- the don't-know marker anywhere in it: answered=False, with our standard don't-know text;
- citations of numbers that are not sources are dropped; `cited` is the numbers it cites that exist;
- a reply that cites no source cannot be checked against the documents, so the extractive answer is given instead.

When the model fails, the caller still gets an answer: the extractive one, with a note saying the AI model is
unavailable, answerer "extractive:fallback", and a warning with the cause in the log. Connection errors, timeouts,
429 and 5xx are retried with backoff (`attempts` calls in all); other errors (a 401, an unknown model) are not, as
they will not fix themselves. Why fall back rather than raise: an employee asking about a policy is better served
at once by the cited policy text than by an error, the extractive answer is grounded and honest about its sources,
and operators see the outage in the logs and in the stored `answerer`.

The model is set up when the answerer is built, so a wrong ROLLOUT_ANSWERER or a missing package is one clear
KnowledgeError at start-up. langchain and the provider package are imported only then, never on import of this
module, which keeps CLI start-up fast.
"""
from __future__ import annotations

import logging
import re
import time
from dataclasses import replace
from typing import Sequence

from knowledge.answer import Answer, Source, answerer_kind
from knowledge.errors import KnowledgeError
from knowledge.extractive import ExtractiveAnswerer
from knowledge.retrieve import Evidence
from prompts import PromptError, combined_version, data_block, load_prompt, neutralise

logger = logging.getLogger(__name__)

DONT_KNOW_MARKER = "NOT_IN_SOURCES"
DEFAULT_TIMEOUT_S = 20.0
DEFAULT_ATTEMPTS = 2
BACKOFF_S = 0.5
RETRYABLE_STATUS = frozenset({408, 409, 429})
FALLBACK_ANSWERER = "extractive:fallback"
UNAVAILABLE_NOTE = "(The AI model isn't available right now, so this answer quotes the policy documents directly.)"
# Only the OpenAI clients are known to take these settings; other providers keep their own client defaults.
OPENAI_CLIENTS = frozenset({"openai", "azure_openai"})
PLACEHOLDER_API_KEY = "not-needed"
# Besides each source's best passage, its next best one when that ranks in the top PASSAGES_CONSIDERED overall.
PASSAGES_CONSIDERED = 8
PASSAGES_PER_SOURCE = 2
PROMPT_TURNS = 3
HISTORY_ANSWER_CHARS = 600
_CITATION = re.compile(r"(\s*)\[(\d+(?:\s*,\s*\d+)*)\]")


class LLMSetupError(KnowledgeError):
    """The language model could not be set up: a malformed ROLLOUT_ANSWERER, a missing package, no API key."""


@answerer_kind("llm")
class LLMAnswerer:
    """Answers with a chat model from the numbered sources; falls back to the extractive answer when it fails."""

    def __init__(self, options: str = "", base_url: str | None = None, api_key: str | None = None,
                 timeout: float = DEFAULT_TIMEOUT_S, attempts: int = DEFAULT_ATTEMPTS):
        provider, model = _provider_and_model(options)
        self.name = f"llm:{provider}:{model}"
        try:
            system, self.user_prompt = load_prompt("answer_system"), load_prompt("answer_user")
        except PromptError as exc:
            raise LLMSetupError(f"the LLM answerer's prompt files are invalid: {exc}") from exc
        self.system_message = system.render(dont_know_marker=DONT_KNOW_MARKER)
        self.prompt_version = combined_version(system, self.user_prompt)
        self.attempts = max(1, int(attempts))
        self.extractive = ExtractiveAnswerer()
        self.model = chat_model(provider, model, base_url=base_url, api_key=api_key, timeout=timeout)

    def answer(self, question: str, evidence: Evidence, sources: Sequence[Source],
               history: Sequence[tuple[str, str]] = ()) -> Answer:
        messages = self.messages(question, evidence, sources, history)
        try:
            reply = self._invoke(messages)
        except Exception as exc:  # any client or network error: the employee still gets an answer, see above
            logger.warning("%s failed (%s); answering extractively", self.name, _describe(exc), exc_info=exc)
            return self._extractive(question, evidence, sources, history, note=UNAVAILABLE_NOTE)
        return self._to_answer(question, reply, evidence, sources, history)

    def messages(self, question: str, evidence: Evidence, sources: Sequence[Source],
                 history: Sequence[tuple[str, str]] = ()) -> list[tuple[str, str]]:
        """The system and human messages for one question."""
        user = self.user_prompt.render(conversation=conversation_blocks(history),
                                       sources=source_blocks(evidence, sources),
                                       question=neutralise(question), dont_know_marker=DONT_KNOW_MARKER)
        return [("system", self.system_message), ("human", user)]

    def _invoke(self, messages: list[tuple[str, str]]) -> str:
        attempt = 1
        while True:
            try:
                return self.model.invoke(messages).text
            except Exception as exc:
                if attempt >= self.attempts or not _transient(exc):
                    raise
                logger.info("%s: attempt %d failed (%s); retrying", self.name, attempt, _describe(exc))
                time.sleep(BACKOFF_S * 2 ** (attempt - 1))
                attempt += 1

    def _to_answer(self, question: str, reply: str, evidence: Evidence, sources: Sequence[Source],
                   history: Sequence[tuple[str, str]]) -> Answer:
        from knowledge.base import dont_know  # knowledge.base imports this module, so not at the top

        if DONT_KNOW_MARKER.lower() in reply.lower():
            return Answer(question, dont_know(sources), False, tuple(sources), self.name, self.prompt_version)
        text, cited = keep_known_citations(reply, {s.number for s in sources})
        if not cited:
            logger.warning("%s: the reply (%d characters) cites no source, so it cannot be checked; answering "
                           "extractively", self.name, len(reply))
            return self._extractive(question, evidence, sources, history)
        return Answer(question, text, True, tuple(sources), self.name, self.prompt_version, cited=cited)

    def _extractive(self, question: str, evidence: Evidence, sources: Sequence[Source],
                    history: Sequence[tuple[str, str]], note: str | None = None) -> Answer:
        answer = self.extractive.answer(question, evidence, sources, history)
        text = f"{answer.text}\n\n{note}" if note else answer.text
        return replace(answer, text=text, answerer=FALLBACK_ANSWERER)


def chat_model(provider: str, model: str, base_url: str | None, api_key: str | None, timeout: float):
    """A langchain chat model for `provider:model`; LLMSetupError that says what to do when it can't be made."""
    kwargs: dict = {"temperature": 0}
    if provider in OPENAI_CLIENTS:
        kwargs |= {"timeout": timeout, "max_retries": 0}  # LLMAnswerer._invoke retries, only what is transient
    if provider == "openai":
        kwargs |= {"base_url": base_url, "api_key": api_key or (PLACEHOLDER_API_KEY if base_url else None)}
    spec = f"ROLLOUT_ANSWERER=llm:{provider}:{model}"
    try:
        from langchain.chat_models import init_chat_model

        return init_chat_model(model, model_provider=provider, **{k: v for k, v in kwargs.items() if v is not None})
    except ImportError as exc:  # langchain names the pip package to install
        raise LLMSetupError(f"{spec} needs a package that is not installed. {exc}") from exc
    except ValueError as exc:
        raise LLMSetupError(f"{spec}: {' '.join(str(exc).split())}") from exc
    except Exception as exc:
        raise LLMSetupError(f"{spec}: the model could not be set up: {exc}") from exc


def source_blocks(evidence: Evidence, sources: Sequence[Source]) -> str:
    """Each numbered source as <source id="n"> blocks: its best passage and maybe its next best one."""
    best = {p.path: p for p in evidence.documents}
    top = evidence.passages[:PASSAGES_CONSIDERED]
    blocks = []
    for source in sources:
        if source.path not in best:
            continue
        more = [p for p in top if p.path == source.path and p is not best[source.path]]
        for passage in [best[source.path], *more][:PASSAGES_PER_SOURCE]:
            section = passage.chunk.metadata.get("section") or None
            blocks.append(data_block("source", passage.chunk.text, id=source.number, title=source.title,
                                     section=section))
    return "\n\n".join(blocks)


def conversation_blocks(history: Sequence[tuple[str, str]]) -> str:
    """The thread's last few turns as <turn> blocks; earlier answers lose their [n], which meant other sources."""
    turns = []
    for question, answer in list(history)[-PROMPT_TURNS:]:
        answer = _CITATION.sub("", answer).strip()
        if len(answer) > HISTORY_ANSWER_CHARS:
            answer = answer[:HISTORY_ANSWER_CHARS].rsplit(" ", 1)[0] + " ..."
        turns.append(data_block("turn", f"Question: {question}\nAnswer: {answer}"))
    return "\n".join(turns)


def keep_known_citations(text: str, known: set[int]) -> tuple[str, tuple[int, ...]]:
    """The text with citations of unknown numbers dropped ('[1, 2]' becomes '[1][2]'), and the numbers it cites."""
    cited: list[int] = []

    def keep(match: re.Match) -> str:
        numbers = [n for n in dict.fromkeys(int(d) for d in re.findall(r"\d+", match.group(2))) if n in known]
        cited.extend(numbers)
        return match.group(1) + "".join(f"[{n}]" for n in numbers) if numbers else ""

    text = _CITATION.sub(keep, text).strip()
    return text, tuple(dict.fromkeys(cited))


def _provider_and_model(options: str) -> tuple[str, str]:
    provider, _, model = (options or "").strip().partition(":")
    if not provider.strip() or not model.strip():
        raise LLMSetupError(f"ROLLOUT_ANSWERER=llm:{options} must name a provider and a model, e.g. "
                            "llm:openai:gpt-4o-mini, or llm:ollama:llama3 with langchain-ollama installed")
    return provider.strip().lower(), model.strip()


def _transient(exc: Exception) -> bool:
    """True for failures worth another try: no HTTP status (connection, timeout), 408/409/429 or 5xx."""
    status = getattr(exc, "status_code", None)
    return status is None or status >= 500 or status in RETRYABLE_STATUS


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"

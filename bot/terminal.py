"""`rollout chat`: the answer pipeline in a terminal, with the same thread memory as Slack."""
from __future__ import annotations

import click

from knowledge.errors import BadQuestion

HISTORY_TURNS = 6


def run_chat(kb, prompt: str = "you> ") -> None:
    """Read questions until EOF or 'quit'; answer each with citations."""
    click.echo("Ask about our AI policies (Ctrl-D or 'quit' to leave, 'new' for a fresh topic).")
    history: list[tuple[str, str]] = []
    while True:
        try:
            question = input(prompt)
        except (EOFError, KeyboardInterrupt):
            click.echo()
            return
        command = question.strip().lower()
        if command in {"quit", "exit"}:
            return
        if command == "new":
            history.clear()
            continue
        try:
            answer = kb.ask(question, history[-HISTORY_TURNS:])
        except BadQuestion as exc:
            click.echo(f"rollout> {exc}")
            continue
        click.echo(f"rollout> {answer.text}")
        for source in answer.sources:
            if not answer.answered or source.number in answer.cited:
                click.echo(f"         [{source.number}] {source.label}")
        history.append((question, answer.text))

"""The workers' hand-off after the acks: work recorded during a request waits until no ack is owed, or its bound."""
from __future__ import annotations

import threading

from bot.slack.workers import Workers


def test_work_handed_on_after_the_acks_waits_for_every_ack_owed():
    workers = Workers(1, after_acks_limit=600)  # the bound never decides here
    ran = threading.Event()
    with workers.acking():
        with workers.acking():
            workers.after_acks(ran.set)
        assert workers.pending == 1 and not workers.wait_idle(0) and not ran.is_set()  # one ack still owed
    assert workers.wait_idle(10) and ran.is_set()
    workers.after_acks(ran.clear)  # no request open (Socket Mode, jobs): at once
    assert workers.wait_idle(10) and not ran.is_set()
    workers.close()


def test_work_waits_no_longer_than_its_bound_when_an_ack_stays_owed():
    workers = Workers(1, after_acks_limit=0.01)
    ran = threading.Event()
    with workers.acking():
        workers.after_acks(ran.set)
        assert ran.wait(10)  # ran although the ack is still owed
    workers.close()


def test_closing_runs_what_waits_for_the_acks():
    workers = Workers(1, after_acks_limit=600)
    ran = threading.Event()
    with workers.acking():
        workers.after_acks(ran.set)
        assert workers.close(timeout=10) is True and ran.is_set()

"""The helpdesk under faults: *Ask a person* pressed while the database or Slack fails. (Chroma's part in the helpdesk,
FAQ entries, is tested with a stopped server in tests/helpdesk/test_faq.py.)"""
from __future__ import annotations

import pytest

from bot.helpdesk.tables import Ticket
from tests.faults.conftest import SLACK_FAULTS
from tests.helpdesk.conftest import HELPDESK
from tests.scenario.conftest import ANSWERABLE, button_value


@pytest.mark.parametrize("faulty", ["database", *SLACK_FAULTS], indirect=True)
def test_an_escalation_during_a_fault_reaches_the_helpdesk_once_or_the_asker_is_told_it_did_not(faulty):
    f = faulty()
    r = f.r
    r.dm(ANSWERABLE)
    r.settle()
    answer = r.posts(channel="DU0ALICE")[-1]

    def press() -> None:
        r.sender.block_action("escalate", button_value(answer.params["blocks"], "escalate"), channel_id="DU0ALICE",
                              message_ts=answer.response["ts"], blocks=answer.params["blocks"])
        r.settle()

    with f.active():
        press()
    assert r.posts(channel=HELPDESK) == []
    [told] = [c.params["text"] for c in r.slack.calls_to("chat.postEphemeral") if c.ok]
    assert "couldn't" in told and "helpdesk" in told  # not "passed on": it was not
    f.retries()

    press()  # pressed again once the fault is gone, as they were told
    assert len(r.posts(channel=HELPDESK)) == 1 and len(r.rows(Ticket)) == 1
    assert len([p for p in r.posts(channel="DU0ALICE") if "helpdesk" in p.params["text"].lower()]) == 1
    f.healthy()

"""Triggers as plain functions of `now`: times, cron expressions, time zones, DST, misfires and pacing."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.comms.audiences import Target, parse_targets
from bot.comms.errors import BadSchedule, BadTarget
from bot.comms.schedules import check_schedule, cron_trigger, next_runs, parse_at, zone
from bot.errors import RolloutError
from bot.slack.pacing import SendPacer
from jobs import schedule
from jobs.schedule import ScheduleError, classify_due

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2027, 3, 20, 12, 0, tzinfo=UTC)


def local(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=LONDON)


def test_at_is_read_in_the_time_zone_unless_it_has_an_offset() -> None:
    assert parse_at("2027-03-29T09:00", "Europe/London", NOW) == datetime(2027, 3, 29, 8, 0, tzinfo=UTC)  # BST
    assert parse_at("2027-03-26T09:00", "Europe/London", NOW) == datetime(2027, 3, 26, 9, 0, tzinfo=UTC)  # GMT
    assert parse_at("2027-03-26T09:00-05:00", "Europe/London", NOW) == datetime(2027, 3, 26, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize("text, message", [
    ("2027-03-20T11:59", "is in the past"),
    ("next tuesday", "is not an ISO 8601 time"),
    ("2027-02-30T09:00", "is not an ISO 8601 time"),
])
def test_bad_or_past_times_are_refused_with_what_to_do(text: str, message: str) -> None:
    with pytest.raises(BadSchedule, match=message):
        parse_at(text, "UTC", NOW)


def test_unknown_time_zones_are_named() -> None:
    with pytest.raises(BadSchedule, match="unknown time zone 'Europe/Leeds': use an Area/City name"):
        zone("Europe/Leeds")
    with pytest.raises(BadSchedule, match="unknown time zone"):
        parse_at("2027-04-01T09:00", "Mars/Olympus", NOW)


@pytest.mark.parametrize("expression, message", [
    ("0 9 * *", "needs five fields"),
    ("61 9 * * *", "not a valid cron expression"),
    ("0 9 * * funday", "not a valid cron expression"),
    ("every monday", "needs five fields"),
])
def test_invalid_cron_expressions_are_refused(expression: str, message: str) -> None:
    with pytest.raises(BadSchedule, match=message):
        cron_trigger(expression, "UTC")


def test_a_cron_that_never_runs_and_both_or_neither_schedule_are_refused() -> None:
    with pytest.raises(BadSchedule, match="never runs"):
        check_schedule(None, "0 9 31 2 *", "UTC", NOW)
    with pytest.raises(BadSchedule, match="not both or neither"):
        check_schedule(NOW + timedelta(days=1), "0 9 * * *", "UTC", NOW)
    with pytest.raises(BadSchedule, match="not both or neither"):
        check_schedule(None, None, "UTC", NOW)


def test_the_engine_refuses_with_its_own_error_and_people_see_the_same_message_as_a_bad_schedule() -> None:
    with pytest.raises(ScheduleError) as engine_s:
        schedule.cron_trigger("0 9 * *", "Mars/Olympus")
    with pytest.raises(BadSchedule) as shown:
        cron_trigger("0 9 * *", "Mars/Olympus")
    assert not isinstance(engine_s.value, RolloutError) and str(shown.value) == str(engine_s.value)
    with pytest.raises(BadSchedule, match="^unknown time zone 'Mars/Olympus'"):
        cron_trigger("0 9 * * *", "Mars/Olympus")  # the zone's own message, not "not a valid cron expression"


def test_a_daily_cron_keeps_its_local_time_across_both_dst_changes() -> None:
    spring = next_runs(cron_trigger("0 9 * * *", "Europe/London"), local(2027, 3, 26, 12), 4)
    assert spring == [local(2027, 3, 27, 9), local(2027, 3, 28, 9), local(2027, 3, 29, 9), local(2027, 3, 30, 9)]
    assert [t.astimezone(UTC).hour for t in spring] == [9, 8, 8, 8]  # 09:00 GMT, then 09:00 BST
    autumn = next_runs(cron_trigger("0 9 * * *", "Europe/London"), local(2027, 10, 29, 12), 3)
    assert [t.astimezone(UTC).hour for t in autumn] == [8, 9, 9]  # 09:00 BST, then 09:00 GMT
    assert all(t.astimezone(LONDON).hour == 9 for t in spring + autumn)


def test_a_time_that_happens_twice_when_clocks_go_back_fires_once() -> None:
    # 31 October 2027: 01:00-02:00 happens twice in London (BST, then GMT). Cron fires 01:30 once.
    runs = next_runs(cron_trigger("30 1 * * *", "Europe/London"), local(2027, 10, 30, 12), 3)
    assert [t.astimezone(UTC) for t in runs] == [datetime(2027, 10, 31, 0, 30, tzinfo=UTC),
                                                datetime(2027, 11, 1, 1, 30, tzinfo=UTC),
                                                datetime(2027, 11, 2, 1, 30, tzinfo=UTC)]


def test_a_time_that_does_not_exist_when_clocks_go_forward_still_fires_that_day() -> None:
    # 28 March 2027: 01:00-02:00 does not exist in London. The 01:30 run happens once, at 02:30 BST (01:30 UTC).
    runs = next_runs(cron_trigger("30 1 * * *", "Europe/London"), local(2027, 3, 27, 12), 3)
    assert [t.astimezone(UTC) for t in runs] == [datetime(2027, 3, 28, 1, 30, tzinfo=UTC),
                                                datetime(2027, 3, 29, 0, 30, tzinfo=UTC),
                                                datetime(2027, 3, 30, 0, 30, tzinfo=UTC)]


def test_first_monday_of_the_month_needs_both_day_fields_to_match() -> None:
    runs = next_runs(cron_trigger("0 9 1-7 * mon", "Europe/London"), local(2026, 11, 27, 12), 3)
    assert [t.date().isoformat() for t in runs] == ["2026-12-07", "2027-01-04", "2027-02-01"]


def test_misfires_within_grace_are_sent_once_and_older_ones_recorded_as_missed() -> None:
    grace = timedelta(minutes=5)
    due = classify_due([NOW - timedelta(minutes=3)], NOW, grace)
    assert [(d.status, d.detail) for d in due] == [("due", None)]
    late = classify_due([NOW - timedelta(hours=2)], NOW, grace)
    assert late[0].status == "missed" and "beyond the 300 s grace period" in late[0].detail
    after_downtime = classify_due([NOW - timedelta(days=2), NOW - timedelta(days=1), NOW - timedelta(minutes=1)],
                                  NOW, grace)
    assert [d.status for d in after_downtime] == ["missed", "missed", "due"]


def test_targets_are_parsed_by_kind_and_bad_ones_say_what_a_target_is() -> None:
    assert parse_targets(["C0GENERAL pilot", "engineering,U0ALICE", "@pilot-team", "pilot"]) == [
        Target("channel", "C0GENERAL"), Target("pilot", "pilot"), Target("usergroup", "engineering"),
        Target("user", "U0ALICE"), Target("usergroup", "pilot-team")]
    with pytest.raises(BadTarget, match="use the channel's id"):
        parse_targets(["#general"])
    with pytest.raises(BadTarget, match="no target given"):
        parse_targets(["  "])


def test_the_pacer_keeps_to_the_rate_counting_each_request_until_a_window_after_its_answer() -> None:
    now = [0.0]
    pacer = SendPacer(10, channel_interval=1.0, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    for n in range(25):
        pacer.done(pacer.acquire(f"U{n}"))
    assert now[0] == pytest.approx(2.0)  # 10 at once, then 10 a second
    start = now[0]
    pacer.done(pacer.acquire("C1"))
    pacer.done(pacer.acquire("C1"))  # the same channel: a second apart
    assert now[0] - start >= 1.0
    pacer.pause(5)
    paused_at = now[0]
    pacer.done(pacer.acquire("U99"))
    assert now[0] - paused_at >= 5


def test_a_slow_answer_holds_its_place_in_the_window() -> None:
    now = [0.0]
    pacer = SendPacer(2, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    slow = pacer.acquire()
    pacer.done(pacer.acquire())
    now[0] = 0.4
    pacer.done(slow)  # answered 0.4 s after it left: Slack may have counted it as late as that
    pacer.acquire()  # room once the first answer is a window old
    assert now[0] == pytest.approx(1.0)
    pacer.acquire()
    assert now[0] == pytest.approx(1.4)

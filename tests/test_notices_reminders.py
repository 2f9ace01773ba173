"""Reminders after N working days, escalation to the next level up after M (per township, default 2 and
4), each one audit event and one notice, never twice; shown on the request's page and in the trail. The
to-do list counts what is overdue; a township head's home shows the slowest steps of the month. The
notice settings page."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from audit.models import Event
from finance.auth.models import User
from finance.extensions import db
from finance.notices import services as notices
from finance.notices.models import Notice, NoticeDelivery, NoticeKind, NoticeSetting
from finance.notices.queries import overdue_count, slowest_steps
from finance.notices.reminders import remind
from finance.oversight.verification import run_verify
from finance.payment_requests import services as requests
from finance.roles import Role
from finance.timefmt import CST
from finance.workflow import State
from tests import factories as f

BEFORE_NATIONAL_DAY = datetime(2026, 9, 30, 16, 0, tzinfo=CST)


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=CST)


def waiting_since(req, when: datetime) -> None:
    """Test-only: pretend the current step began at `when`."""
    req.waiting_since = when.astimezone(UTC)
    db.session.commit()


def notices_of(req, kind: NoticeKind) -> list[Notice]:
    return list(db.session.execute(select(Notice).where(Notice.request_id == req.id, Notice.kind == kind)).scalars())


def told(notice: Notice) -> list[str]:
    users = db.session.execute(select(NoticeDelivery.user_id).where(NoticeDelivery.notice_id == notice.id)).scalars()
    return sorted(db.session.get(User, uid).username for uid in users)


def events(req, action: str) -> list[Event]:
    return list(db.session.execute(select(Event).where(Event.subject_type == "payment_request",
                                                       Event.subject_id == str(req.id), Event.action == action)
                                   ).scalars())


@pytest.fixture
def sms_for_all(db):
    for name in ("dy_shuji", "dy_jianwei", "yc_baocun", "yc_zhenzhang", "hl_admin", "yc_chuna"):
        notices.save_settings(f.user(name), notices.SettingsInput(sms_on=True, mobile="13900000009"))
    db.commit()


def test_reminder_after_two_and_escalation_after_four_working_days_across_national_day(sms_for_all):
    req = f.in_state(State.PENDING)
    waiting_since(req, BEFORE_NATIONAL_DAY)
    assert remind(now=at(10, 8)).reminded == []  # one working day (8 Oct) after the holiday
    report = remind(now=at(10, 9))
    assert report.reminded == [req.number] and report.escalated == []
    (reminder,) = notices_of(req, NoticeKind.REMINDER)
    assert told(reminder) == ["dy_shuji"] and reminder.working_days == 2 and reminder.role == "village_lead"
    (event,) = events(req, "notice_remind")
    assert json.loads(event.after)["reminder"]["working_days"] == 2 and event.actor_id is None
    assert remind(now=at(10, 9, 15)).reminded == []  # never twice for one wait
    assert remind(now=at(10, 10)).escalated == []  # Saturday 10 Oct is a make-up working day: 3
    report = remind(now=at(10, 12))
    assert report.escalated == [req.number]
    (escalation,) = notices_of(req, NoticeKind.ESCALATION)
    assert told(escalation) == ["yc_baocun"] and escalation.to_role == "township_leader"
    assert len(events(req, "notice_escalate")) == 1 and len(events(req, "notice_remind")) == 1
    assert remind(now=at(10, 20)).escalated == []
    assert not run_verify(chain=f"village:{req.village.code}").all_failures()  # the trail still replays


def test_the_clock_starts_again_at_the_next_step(sms_for_all):
    req = f.in_state(State.PENDING)
    waiting_since(req, BEFORE_NATIONAL_DAY)
    remind(now=at(10, 9))
    requests.approve(f.user("dy_shuji"), req, client_key=uuid.uuid4().hex)
    db.session.commit()
    waiting_since(req, at(10, 9, 11))
    assert remind(now=at(10, 10)).reminded == []
    assert remind(now=at(10, 12)).reminded == [req.number]
    assert [told(n) for n in notices_of(req, NoticeKind.REMINDER)] == [["dy_shuji"], ["dy_jianwei"]]


def test_an_approved_request_waiting_for_the_cashier_is_reminded_too(sms_for_all):
    req = f.in_state(State.APPROVED)
    waiting_since(req, at(11, 2))  # a Monday
    remind(now=at(11, 4))
    (reminder,) = notices_of(req, NoticeKind.REMINDER)
    assert told(reminder) == ["yc_chuna"] and reminder.role == "cashier"


def test_the_township_head_s_step_escalates_to_the_district(sms_for_all):
    req = f.in_state(State.PENDING, "60000.00")
    for name in ("dy_shuji", "dy_jianwei", "yc_shenhe", "yc_baocun"):
        requests.approve(f.user(name), req, client_key=uuid.uuid4().hex)
    db.session.commit()
    waiting_since(req, at(11, 2))
    remind(now=at(11, 6))
    assert told(notices_of(req, NoticeKind.REMINDER)[0]) == ["yc_zhenzhang"]
    assert told(notices_of(req, NoticeKind.ESCALATION)[0]) == ["hl_admin"]


def test_a_township_sets_its_own_days_and_the_admin_page_refuses_nonsense_in_chinese(sms_for_all, make_client):
    admin = make_client()
    admin.login("hl_admin")
    township = f.unit("HL-YC")
    page = admin.post(f"/notices/admin/townships/{township.id}", data={"remind_after": "3", "escalate_after": "2"})
    assert page.status_code == 422 and "上报天数须大于催办天数。" in page.get_data(as_text=True)
    assert notices.policy_of(township) == (2, 4)
    assert admin.post(f"/notices/admin/townships/{township.id}",
                      data={"remind_after": "1", "escalate_after": "3"}).status_code == 303
    assert notices.policy_of(township) == (1, 3)
    assert notices.policy_of(f.unit("HL-MK")) == (2, 4)  # the other township keeps the defaults
    req = f.in_state(State.PENDING)
    waiting_since(req, at(11, 2))
    assert remind(now=at(11, 3)).reminded == [req.number]
    lead = make_client()
    lead.login("dy_shuji")
    assert lead.post(f"/notices/admin/townships/{township.id}",
                     data={"remind_after": "5", "escalate_after": "9"}).status_code == 404


def test_the_request_page_shows_reminders_and_escalations(sms_for_all, client):
    req = f.in_state(State.PENDING)
    waiting_since(req, BEFORE_NATIONAL_DAY)
    remind(now=at(10, 12))
    client.login("dy_baozhang")
    page = client.get(f"/requests/{req.id}").get_data(as_text=True)
    assert "催办与督办" in page
    assert "已提醒村负责人：已等待 4 个工作日" in page
    assert "已告知包村领导：村负责人已等待 4 个工作日" in page


def test_the_remind_command_runs_from_cron(app, sms_for_all):
    req = f.in_state(State.PENDING)
    waiting_since(req, datetime.now(UTC) - timedelta(days=30))
    result = app.test_cli_runner().invoke(args=["notices", "remind"])
    assert result.exit_code == 0, result.output
    assert "reminded 1, escalated 1" in result.output and req.number in result.output


def test_the_to_do_list_counts_the_overdue_items_and_marks_them(client):
    late = f.in_state(State.PENDING)
    waiting_since(late, datetime.now(UTC) - timedelta(days=20))
    f.in_state(State.PENDING)  # just arrived
    own_draft = f.draft("300.00", accountant="dy_baozhang")
    waiting_since(own_draft, datetime.now(UTC) - timedelta(days=20))  # the accountant's pace: never "overdue"
    assert overdue_count(f.user("dy_shuji")) == 1
    assert overdue_count(f.user("dy_baozhang")) == 0
    assert overdue_count(f.user("xy_shuji")) == 0  # another village's lead
    client.login("dy_shuji")
    page = client.get("/").get_data(as_text=True)
    assert "其中 1 件已超时" in page and page.count('class="badge badge-late"') == 1


def test_a_township_head_sees_the_slowest_steps_of_the_month(make_client):
    quick = f.in_state(State.APPROVED)
    slow = f.in_state(State.PENDING)
    month_start = datetime.now(CST).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    waiting_since(slow, month_start - timedelta(days=10))  # still waiting since before this month
    steps = slowest_steps(f.user("yc_zhenzhang"))
    assert steps[0].request_id == slow.id and steps[0].who is None and steps[0].role == Role.VILLAGE_LEAD
    assert any(s.request_id == quick.id and s.who == "王建国" for s in steps)
    head = make_client()
    head.login("yc_zhenzhang")
    page = head.get("/").get_data(as_text=True)
    assert "本月最慢的审批环节" in page and slow.number in page and "仍在等待" in page
    lead = make_client()
    lead.login("dy_shuji")
    assert "本月最慢的审批环节" not in lead.get("/").get_data(as_text=True)


def test_the_settings_page_saves_channels_and_quiet_hours_and_says_what_is_wrong_in_chinese(client):
    client.login("dy_jianwei")
    page = client.get("/notices/settings").get_data(as_text=True)
    assert "通知设置" in page and "免打扰时段" in page and "您还没有选择通知方式" in page
    bad = client.post("/notices/settings", data={"sms_on": "1", "mobile": "12345", "quiet_on": "1",
                                                 "quiet_start": "25:00", "quiet_end": "07:00"})
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "请填写 11 位手机号码。" in text and "请填写开始时间，如 22:00。" in text and 'value="12345"' in text
    who = f.user("dy_jianwei")
    assert db.session.get(NoticeSetting, who.id) is None  # nothing saved
    ok = client.post("/notices/settings", data={"sms_on": "1", "mobile": "139 0000 0002", "email_on": "1",
                                                "email": "zhang@example.cn", "quiet_on": "1",
                                                "quiet_start": "22:00", "quiet_end": "07:00"})
    assert ok.status_code == 303
    setting = db.session.get(NoticeSetting, who.id)
    assert (setting.sms_on, setting.mobile, setting.email, setting.quiet_start, setting.quiet_end) == (
        True, "13900000002", "zhang@example.cn", 22 * 60, 7 * 60)
    event = db.session.execute(select(Event).where(Event.action == "notice_settings",
                                                   Event.subject_id == str(who.id))).scalars().all()[-1]
    assert json.loads(event.after) == {"channels": ["email", "sms"], "quiet_hours": "22:00-07:00"}
    assert "13900000002" not in event.after and "zhang@" not in event.after  # addresses stay out of the trail
    page = client.get("/notices/settings").get_data(as_text=True)
    assert 'value="22:00"' in page and "checked" in page


def test_the_notice_pages_in_english_have_no_chinese_but_user_data(make_client, sms_for_all):
    from tests.test_i18n import ASCII_REQUEST, _chinese_left, _user_data

    late = f.in_state(State.PENDING, **ASCII_REQUEST)
    waiting_since(late, BEFORE_NATIONAL_DAY)
    remind(now=at(10, 12))
    waiting_since(late, datetime.now(UTC) - timedelta(days=20))
    data = _user_data()
    found = {}
    for username, url in [("dy_shuji", "/notices/settings"), ("dy_shuji", "/"), ("hl_admin", "/notices/admin"),
                          ("yc_zhenzhang", "/"), ("dy_shuji", f"/requests/{late.id}")]:
        client = make_client()
        client.login(username)
        response = client.get(url + "?lang=en")
        assert response.status_code == 200
        left = _chinese_left(response.get_data(as_text=True), data)
        if left:
            found[f"{username} {url}"] = left
    assert not found, found


def test_the_liaison_sees_reminders_in_the_request_s_trail(sms_for_all, client):
    req = f.in_state(State.PENDING)
    waiting_since(req, BEFORE_NATIONAL_DAY)
    remind(now=at(10, 12))
    client.login("yc_lianqing")
    page = client.get(f"/oversight/requests/{req.id}").get_data(as_text=True)
    assert "催办提醒" in page and "超时上报" in page


def test_the_admin_page_warns_while_a_year_is_counted_provisionally(client, monkeypatch):
    """On 30 November 2026 the package knows nothing of 2027: the admin is told how it is counted."""
    from datetime import date

    from finance.notices import views, workdays

    monkeypatch.setattr(views, "today_local", lambda: date(2026, 11, 30))
    monkeypatch.setattr(workdays, "calendar_knows", lambda year: year <= 2026)
    client.login("hl_admin")
    page = client.get("/notices/admin").get_data(as_text=True)
    assert 'id="calendar-provisional"' in page and "2027 年的节假日安排尚未收录" in page
    monkeypatch.setattr(workdays, "calendar_knows", lambda year: True)  # the package upgraded
    assert 'id="calendar-provisional"' not in client.get("/notices/admin").get_data(as_text=True)

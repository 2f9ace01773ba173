"""Every hand-off tells the right people, once, through a local SMTP server and a local fake SMS
provider: the next approver(s) of that village (not the township's other villages), the cashier once
approved, the accountant when returned, rejected or paid, the township's staff when a liaison asks, the
liaison when answered, the agency on an alert. A notice says number, village, amount and a link; never
the payee or an account. And the outbox is part of the event's transaction: no event, no notice."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from finance.demo import PEOPLE
from finance.extensions import db
from finance.notices import dispatch
from finance.notices import services as notices
from finance.notices.models import Channel, DeliveryState, Notice, NoticeDelivery, NoticeKind
from finance.notices.worker import run_once
from finance.oversight import services as oversight
from finance.payment_requests import services as requests
from finance.payments import services as payments
from finance.timefmt import today_local
from finance.workflow import State
from tests import factories as f
from tests.notices_fakes import FakeProvider, SmtpSink, provider_fixture, smtp_fixture

MOBILE = {username: f"139{i:08d}" for i, (username, *_rest) in enumerate(PEOPLE)}
BY_MOBILE = {m: u for u, m in MOBILE.items()}


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    yield from provider_fixture()


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    yield from smtp_fixture()


@pytest.fixture
def outside(app, db, provider, smtp, monkeypatch):
    """The app's channels pointed at the local fakes; everyone has chosen SMS (and e-mail for two)."""
    for key, value in {"NOTICE_SMTP_HOST": smtp.host, "NOTICE_SMTP_PORT": smtp.port,
                       "NOTICE_SMS_URL": provider.url + "/sms", "NOTICE_WECOM_URL": provider.url + "/wecom",
                       "NOTICE_DINGTALK_URL": provider.url + "/dingtalk", "NOTICE_ROBOTS": "1",
                       "NOTICE_FILE": "", "NOTICE_BASE_URL": "https://sanzi.example.cn"}.items():
        monkeypatch.setitem(app.config, key, value)
    for username, mobile in MOBILE.items():
        email = f"{username}@example.cn" if username in ("dy_shuji", "yc_chuna") else ""
        notices.save_settings(f.user(username), notices.SettingsInput(sms_on=True, mobile=mobile,
                                                                      email_on=bool(email), email=email))
    db.commit()
    return provider


def texts_by_person(provider: FakeProvider, start: int = 0) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for r in list(provider.delivered.values())[start:]:
        out.setdefault(BY_MOBILE[r.body["to"]], []).append(r.body["text"])
    return out


class Walk:
    """Act, commit, run the worker; answer who got an SMS (username -> texts) from this step alone."""

    def __init__(self, provider: FakeProvider) -> None:
        self.provider = provider

    def __call__(self, act) -> dict[str, list[str]]:
        before = len(self.provider.delivered)
        act()
        db.session.commit()
        outcome = run_once(batch=50)
        assert not outcome.failed and not outcome.retried
        return texts_by_person(self.provider, before)


def key() -> str:
    return uuid.uuid4().hex


def test_every_hand_off_of_a_small_request_tells_the_next_person_once(outside):
    walk = Walk(outside)
    req = f.draft("1200.00")
    told = walk(lambda: requests.submit(f.user("dy_baozhang"), req, client_key=key()))
    assert list(told) == ["dy_shuji"]  # the village lead of 东岳村 only: not 西岳村's, not the township
    (text,) = told["dy_shuji"]
    assert text == f"【三资网报】待您审批：{req.number}，东岳村，¥1,200.00。https://sanzi.example.cn/requests/{req.id}"
    for secret in (req.payee_name, req.payee_account, req.payee_bank, req.purpose, "6228"):
        assert secret not in text  # number, village, amount and link only
    assert list(walk(lambda: requests.approve(f.user("dy_shuji"), req, client_key=key()))) == ["dy_jianwei"]
    assert list(walk(lambda: requests.approve(f.user("dy_jianwei"), req, client_key=key()))) == ["yc_shenhe"]
    told = walk(lambda: requests.approve(f.user("yc_shenhe"), req, client_key=key()))
    assert req.state == State.APPROVED
    assert list(told) == ["yc_chuna"] and told["yc_chuna"][0].startswith("【三资网报】待您支付：")
    told = walk(lambda: payments.record_payment(f.user("yc_chuna"), req, f.payment_input(req), client_key=key()))
    assert list(told) == ["dy_baozhang"] and told["dy_baozhang"][0].startswith("【三资网报】申请已支付：")
    from tests.bank_helpers import reconcile

    assert walk(lambda: reconcile(req)) == {}
    # Once each: six notices, one SMS each, whatever runs the worker makes afterwards.
    assert run_once().handled == 0
    sms = [r for r in outside.requests if r.path == "/sms"]
    assert len(sms) == len({r.key for r in sms}) == 5


def test_a_large_request_goes_up_the_township_chain_step_by_step(outside):
    walk = Walk(outside)
    req = f.draft("60000.00")
    assert list(walk(lambda: requests.submit(f.user("dy_baozhang"), req, client_key=key()))) == ["dy_shuji"]
    expected = {"dy_shuji": "dy_jianwei", "dy_jianwei": "yc_shenhe", "yc_shenhe": "yc_baocun",
                "yc_baocun": "yc_zhenzhang", "yc_zhenzhang": "yc_chuna"}
    for approver, next_one in expected.items():
        assert list(walk(lambda a=approver: requests.approve(f.user(a), req, client_key=key()))) == [next_one]
    assert req.state == State.APPROVED


def test_the_other_village_tells_its_own_lead(outside):
    walk = Walk(outside)
    req = f.draft("800.00", accountant="xy_baozhang", village="HL-YC-02")
    assert list(walk(lambda: requests.submit(f.user("xy_baozhang"), req, client_key=key()))) == ["xy_shuji"]


def test_returned_resubmitted_and_rejected_tell_the_accountant_then_the_first_step_again(outside):
    walk = Walk(outside)
    req = f.in_state(State.PENDING)
    walk(lambda: None)  # the submit's notice
    told = walk(lambda: requests.return_for_revision(f.user("dy_shuji"), req, "请补充验收单", client_key=key()))
    assert list(told) == ["dy_baozhang"] and "申请被退回" in told["dy_baozhang"][0]
    assert "请补充验收单" not in told["dy_baozhang"][0]  # the reason stays in the app
    assert list(walk(lambda: requests.submit(f.user("dy_baozhang"), req, client_key=key()))) == ["dy_shuji"]
    told = walk(lambda: requests.reject(f.user("dy_shuji"), req, "不符合村级支出范围", client_key=key()))
    assert list(told) == ["dy_baozhang"] and "申请被驳回" in told["dy_baozhang"][0]


def test_withdrawing_tells_no_one(outside):
    walk = Walk(outside)
    req = f.in_state(State.PENDING)
    walk(lambda: None)
    assert walk(lambda: requests.withdraw(f.user("dy_baozhang"), req, client_key=key())) == {}


def test_a_question_tells_the_township_staff_and_the_answer_tells_the_liaison(outside):
    walk = Walk(outside)
    req = f.in_state(State.PENDING)
    walk(lambda: None)
    asked: list = []
    told = walk(lambda: asked.append(oversight.ask_question(f.user("yc_lianqing"), req, "这笔苗木款为何未招标？",
                                                              today_local() + timedelta(days=5))))
    assert sorted(told) == ["yc_baocun", "yc_chuna", "yc_shenhe", "yc_zhenzhang"]  # not 孟轲乡's staff
    assert all(f"/oversight/questions/{asked[0].id}" in t[0] and "收到问询" in t[0] for t in told.values())
    told = walk(lambda: oversight.answer_question(f.user("yc_shenhe"), asked[0], "金额未达招标标准。"))
    assert list(told) == ["yc_lianqing"] and "问询已答复" in told["yc_lianqing"][0]


def test_alert_agency_tells_the_reviewers_over_the_village_once(outside):
    walk = Walk(outside)
    req = f.in_state(State.PENDING)
    walk(lambda: None)
    link = f"/requests/{req.id}"
    told = walk(lambda: dispatch.alert_agency(req.village, key=f"flag:test-{req.id}", link=link, request=req))
    assert list(told) == ["yc_shenhe"] and "异常提醒" in told["yc_shenhe"][0]
    assert dispatch.alert_agency(req.village, key=f"flag:test-{req.id}", link=link, request=req) is None


def test_e_mail_goes_through_smtp_with_the_dedupe_key_as_message_id(outside, smtp):
    walk = Walk(outside)
    req = f.draft("1200.00")
    walk(lambda: requests.submit(f.user("dy_baozhang"), req, client_key=key()))
    (mail,) = smtp.to("dy_shuji@example.cn")
    assert mail["Subject"] == f"【三资网报】待您审批：{req.number}"
    body = mail.get_content()
    assert req.number in body and "东岳村" in body and f"/requests/{req.id}" in body and req.payee_name not in body
    delivery = db.session.execute(select(NoticeDelivery).where(NoticeDelivery.channel == Channel.EMAIL)).scalar_one()
    assert mail["Message-ID"] == f"<{delivery.dedupe_key}@sanzi.notice>"
    assert delivery.state == DeliveryState.SENT


def test_no_event_no_notice_a_refused_action_leaves_the_outbox_as_it_was(outside):
    req = f.in_state(State.PENDING)
    count = db.session.execute(select(func.count(Notice.id))).scalar_one()
    with pytest.raises(requests.RequestError):
        requests.return_for_revision(f.user("dy_shuji"), req, "   ")  # a reason is required
    with pytest.raises(Exception):  # noqa: B017 - the separation of duties refuses it
        requests.approve(f.user("dy_baozhang"), req)
    db.session.rollback()
    assert db.session.execute(select(func.count(Notice.id))).scalar_one() == count


def test_a_notice_rolled_back_with_its_event_is_never_sent(outside):
    req = f.draft("1200.00")
    requests.submit(f.user("dy_baozhang"), req, client_key=key())
    db.session.flush()
    assert db.session.execute(select(func.count(NoticeDelivery.id))
                              .where(NoticeDelivery.state == DeliveryState.PENDING)).scalar_one() >= 1
    db.session.rollback()  # the unit of work fails after the event: the notice goes with it
    assert run_once().handled == 0
    assert outside.requests == []


def test_the_kind_of_each_notice_is_recorded_with_the_event_that_caused_it(outside):
    req = f.in_state(State.PENDING)
    notice = db.session.execute(select(Notice).where(Notice.request_id == req.id)).scalar_one()
    assert notice.kind == NoticeKind.TURN and notice.event_id and notice.key == f"ev:{notice.event_id}:turn"
    assert notice.amount == req.amount and notice.village_name == "东岳村" and notice.number == req.number


def test_a_risk_flag_at_submit_alerts_the_agency_once(db):
    """finance.flags raises flags at submit (a receipt instead of an invoice, just under a band, the
    负面清单): the agency over the village gets one 异常提醒 per flag, linking to the request's page,
    with the number, village and amount only."""
    from finance.flags.models import RiskFlag

    req = f.draft("9900.00")  # just under the 10,000 band
    requests.submit(req.requester, req, client_key=key())
    db.flush()
    flags = list(db.execute(select(RiskFlag.id).where(RiskFlag.source == "submit")).scalars())
    alerts = list(db.execute(select(Notice).where(Notice.kind == NoticeKind.ALERT)).scalars())
    assert flags and sorted(n.key for n in alerts) == sorted(f"alert:flag:{i}" for i in flags)
    assert all(n.link == f"/requests/{req.id}" and n.number == req.number for n in alerts)
    told = {d.user.username for n in alerts for d in db.execute(
        select(NoticeDelivery).where(NoticeDelivery.notice_id == n.id)).scalars()}
    assert told <= {"yc_shenhe"}

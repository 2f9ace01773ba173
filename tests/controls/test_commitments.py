"""Resolutions (四议两公开) and contracts as records: bad input refused, the sum of requests against one
cannot exceed it (also under a race on PostgreSQL), instalments, the 结果公开 photo before the final
instalment, major matters whatever the amount."""

from __future__ import annotations

import threading
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from audit.models import Event
from finance import create_app
from finance.controls import services as controls
from finance.controls.checks import Code, Stage, check_request
from finance.controls.models import Contract, Resolution
from finance.controls.policy import DEFAULT_CONTROL_RULES
from finance.controls.queries import usage
from finance.db import Database
from finance.demo import seed_base
from finance.extensions import db as fdb
from finance.migrate import upgrade
from finance.payment_requests import services as requests
from finance.payment_requests.models import AttachmentKind, PaymentRequest
from finance.timefmt import today_local
from finance.workflow import State
from tests import factories as f
from tests import pg
from tests.conftest import PASSWORD, app_config, require_pg
from tests.controls.helpers import attach, attach_invoice, draft, invoice_image, jpeg, slip_image, submit


def upload(text="会议记录"):
    return controls.Upload("photo.jpg", jpeg(slip_image(text)))


def resolution_input(**kw):
    data = {"matter": "东岳村主街道路硬化工程", "matter_kind": "works", "meeting_date": today_local().isoformat(),
            "expected": "45", "present": "38", "amount": "80000", "minutes": upload(), "publicity": upload("决议公开")}
    data.update(kw)
    return controls.ResolutionInput(**data)


def make_resolution(**kw) -> Resolution:
    return controls.create_resolution(f.user("dy_baozhang"), f.unit("HL-YC-01"), resolution_input(**kw),
                                      DEFAULT_CONTROL_RULES)


def make_contract(amount="80000", resolution=None, **kw) -> Contract:
    data = {"title": "主街道路硬化施工合同", "counterparty": "濮阳市宏基建筑工程有限公司", "amount": amount,
            "signed_on": today_local().isoformat(), "resolution_id": resolution.id if resolution else None,
            "file": controls.Upload("hetong.pdf", f.pdf_bytes())}
    data.update(kw)
    return controls.create_contract(f.user("dy_baozhang"), f.unit("HL-YC-01"), controls.ContractInput(**data))


def count(model):
    return fdb.session.execute(select(func.count()).select_from(model)).scalar_one()


def linked_draft(amount, **link):
    req = draft(amount, payee="濮阳市宏基建筑工程有限公司", account="6228480066667777888",
                purpose="主街道路硬化工程款")
    number = f"{uuid.uuid4().int % 10**20:020d}"
    attach_invoice(req, number, amount=amount,
                   image=jpeg(invoice_image(number, amount=amount, seller="濮阳市宏基建筑工程有限公司", item="工程款")))
    # Until the submit service reads the linked records, its own attachment rules still want the photos.
    if Decimal(amount) >= 10000:
        attach(req, f.pdf_bytes(), kind=AttachmentKind.CONTRACT, name="hetong.pdf")
    if Decimal(amount) >= 50000:
        attach(req, jpeg(slip_image(f"会议记录 {number}")), kind=AttachmentKind.MINUTES)
    controls.link_request(req.requester, req, **link)
    return req


# --- bad input ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("kw", "field", "message"), [
    ({"present": "46"}, "present", "实到人数（46）不能多于应到人数（45）"),
    ({"present": "29"}, "present", "实到 29 人，不足应到 45 人的三分之二"),
    ({"amount": "0"}, "amount", "金额必须大于零"),
    ({"meeting_date": "2999-01-01"}, "meeting_date", "会议日期不能晚于今天"),
    ({"minutes": None}, "minutes", "请上传会议记录照片"),
    ({"expected": "四十五"}, "expected", "应到人数请填写整数"),
])
def test_bad_resolutions_are_refused_in_chinese_and_nothing_is_saved(db, kw, field, message):
    before = (count(Resolution), count(Event))
    with pytest.raises(controls.ControlError) as exc:
        make_resolution(**kw)
    assert message in exc.value.errors[field]
    assert (count(Resolution), count(Event)) == before


@pytest.mark.parametrize(("kw", "field", "message"), [
    ({"amount": "0"}, "amount", "合同金额：金额必须大于零"),
    ({"amount": "0.00"}, "amount", "金额必须大于零"),
    ({"counterparty": ""}, "counterparty", "请填写合同相对方"),
    ({"starts_on": "2026-05-01", "ends_on": "2026-04-01"}, "ends_on", "结束日期不能早于开始日期"),
    ({"file": None}, "file", "请上传合同文件"),
])
def test_bad_contracts_are_refused_in_chinese_and_nothing_is_saved(db, kw, field, message):
    before = (count(Contract), count(Event))
    with pytest.raises(controls.ControlError) as exc:
        make_contract(**kw)
    assert message in exc.value.errors[field]
    assert (count(Contract), count(Event)) == before


def test_a_resolution_and_a_contract_are_recorded_once_each_with_an_event(db):
    res = make_resolution()
    contract = make_contract(resolution=res)
    actions = [e.action for e in fdb.session.execute(select(Event).order_by(Event.id.desc()).limit(2)).scalars()]
    assert actions == ["contract_create", "resolution_create"]
    assert contract.counterparty_key == "濮阳市宏基建筑工程"
    with pytest.raises(controls.ControlError, match="将超过决议金额 80,000.00 元"):
        make_contract(amount="1", resolution=res)


# --- the ceiling ----------------------------------------------------------------------------------------

def test_two_80000_payments_against_one_80000_resolution_the_second_is_refused(db):
    """Issue 11: two 80,000 payments against one 80,000 四议两公开 resolution with one minutes photo."""
    res = make_resolution()
    first = linked_draft("80000.00", resolution_id=res.id)
    assert check_request(first, Stage.SUBMIT).refusals == []
    submit(first)
    second = linked_draft("80000.00", resolution_id=res.id)
    refused = [x for x in check_request(second, Stage.SUBMIT).refusals if x.code == Code.COMMITMENT_EXCEEDED]
    assert refused
    assert refused[0].message == (f"“四议两公开”决议“东岳村主街道路硬化工程”金额 80,000.00 元，已申请 80,000.00 元"
                                  f"（{first.number}），本次 80,000.00 元将超出 80,000.00 元。")
    # A withdrawn first request frees the resolution.
    requests.withdraw(first.requester, first)
    assert Code.COMMITMENT_EXCEEDED not in check_request(second, Stage.SUBMIT).codes()


def test_progress_payments_within_one_contract_are_not_stopped(db):
    """Hard negative: 预付款, 进度款, 进度款, 尾款 within one 80,000 contract under its resolution."""
    res = make_resolution()
    contract = make_contract(resolution=res)
    plan = [("20000.00", "advance"), ("30000.00", "progress"), ("20000.00", "progress"), ("10000.00", "final")]
    for amount, instalment in plan:
        req = linked_draft(amount, contract_id=contract.id, instalment=instalment)
        if instalment == "final":
            refused = check_request(req, Stage.SUBMIT).refusals
            assert [x.code for x in refused] == [Code.RESULT_PUBLICITY_MISSING]
            assert "支付尾款前须上传“结果公开”照片" in refused[0].message
            controls.add_result_publicity(req.requester, res, upload("结果公开"))
        report = check_request(req, Stage.SUBMIT)
        assert report.refusals == [] and report.warnings == [], (amount, instalment, report.findings)
        assert report.route_amount is None
        submit(req)
    used = usage(contract_id=contract.id)
    assert used.committed == Decimal("80000.00") and used.paid == Decimal("0.00")
    one_more = linked_draft("0.01", contract_id=contract.id, instalment="retention")
    assert Code.COMMITMENT_EXCEEDED in check_request(one_more, Stage.SUBMIT).codes()


def test_a_contract_of_a_major_amount_needs_its_resolution(db):
    contract = make_contract(amount="60000")
    req = linked_draft("20000.00", contract_id=contract.id, instalment="advance")
    assert Code.RESOLUTION_REQUIRED in {x.code for x in check_request(req, Stage.SUBMIT).refusals}


def test_works_need_a_resolution_whatever_the_amount(db):
    req = draft("3000.00", payee="张德顺", account="6217000011112222333", purpose="村东排水沟修建工程人工费")
    attach(req, jpeg(slip_image("签收单")), kind=AttachmentKind.LABOUR_SLIP)
    refused = [x for x in check_request(req, Stage.SUBMIT).refusals if x.code == Code.RESOLUTION_REQUIRED]
    assert refused and "用途涉及“工程”" in refused[0].message
    res = make_resolution(amount="5000", matter="村东排水沟修建")
    controls.link_request(req.requester, req, resolution_id=res.id)
    assert check_request(req, Stage.SUBMIT).refusals == []


def test_links_are_checked(db):
    req = draft("300.00")
    with pytest.raises(controls.ControlError, match="付款阶段只用于合同付款"):
        controls.link_request(req.requester, req, instalment="final")
    with pytest.raises(controls.ControlError, match="身份证号校验位不正确"):
        controls.link_request(req.requester, req, payee_id_number="110105194912310021")


# --- the race -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def race_app(tmp_path_factory):
    require_pg()
    url = pg.create_database()
    tmp: Path = tmp_path_factory.mktemp("controls-race")
    upgrade(url)
    app = create_app(app_config(url, tmp))
    with app.app_context():
        seed_base(PASSWORD)
        fdb.session.commit()
    yield app
    app.extensions[Database.key][0].dispose()
    pg.drop_database(url)


class Refused(Exception):
    pass


def guarded_submit(req: PaymentRequest) -> None:
    """The submit service itself: its controls lock the resolution row (SELECT ... FOR UPDATE) before they
    count what is committed against it, in the submit transaction."""
    try:
        requests.submit(req.requester, req, client_key=uuid.uuid4().hex)
    except requests.RequestError as exc:
        assert "将超出" in exc.errors["amount"], exc.errors
        raise Refused(exc.errors) from None


@pytest.mark.slow
@pytest.mark.postgres
def test_two_requests_under_one_resolution_submitted_at_once_cannot_exceed_it(race_app):
    rounds = 10
    for _ in range(rounds):
        with race_app.app_context():
            res = make_resolution(amount="80000")
            ids = [linked_draft("50000.00", resolution_id=res.id).id for _ in range(2)]
            fdb.session.commit()
            res_id = res.id
        barrier = threading.Barrier(2)
        outcome: dict[int, str] = {}

        def worker(req_id: int) -> None:
            with race_app.app_context():
                req = fdb.session.get(PaymentRequest, req_id)
                assert req is not None
                barrier.wait()
                try:
                    guarded_submit(req)
                    fdb.session.commit()
                    outcome[req_id] = "submitted"
                except Refused:
                    fdb.session.rollback()
                    outcome[req_id] = "refused"

        threads = [threading.Thread(target=worker, args=(i,)) for i in ids]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sorted(outcome.values()) == ["refused", "submitted"], outcome
        with race_app.app_context():
            assert usage(resolution_id=res_id).committed == Decimal("50000.00")
            states = [fdb.session.get(PaymentRequest, i).state for i in ids]
            assert sorted(states) == [State.DRAFT, State.PENDING]

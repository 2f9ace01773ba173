"""The payment request pages through the test client, on SQLite and PostgreSQL: the form and its bad
input, attachments, every action of the workflow, replayed forms, refused actions, other villages' ids,
the list with filters and pagination, and the to-do list."""

from __future__ import annotations

import io
import re
import uuid
from decimal import Decimal

import pytest
from PIL import Image
from sqlalchemy import func, select

from audit.models import Event
from finance.extensions import db
from finance.payment_requests.models import Attachment, PaymentRequest, RequestAction
from finance.timefmt import CST
from finance.workflow import Action, State
from tests import factories as f

KEY_RE = re.compile(r'name="client_key"[^>]*value="([0-9a-f]+)"|value="([0-9a-f]{32})"[^>]*name="client_key"')


def counts() -> tuple[int, int, int, int]:
    """Requests, history rows, attachments and audit events: what a refused post must leave alone."""
    return tuple(
        db.session.execute(select(func.count()).select_from(m)).scalar_one()  # type: ignore[return-value]
        for m in (PaymentRequest, RequestAction, Attachment, Event)
    )


def key_in(html: str) -> str:
    match = KEY_RE.search(html)
    assert match, "no client_key in the page"
    return match.group(1) or match.group(2)


def form_data(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "payee_name": "濮阳市华龙区兴农农资经营部",
        "payee_bank": "中国农业银行濮阳华龙支行",
        "payee_account": "6228 4800 1234 5678 901",
        "amount": "1,234.50",
        "purpose": "购买村内道路绿化苗木 120 株",
        "subject_id": str(f.subject("5501").id),
        "fund_source": "村集体经营收入",
        "budget_line": "2026年度公益支出预算",
        "meeting_date": "",
        "meeting_attendance": "",
        "meeting_amount": "",
        "client_key": uuid.uuid4().hex,
        "action": "save",
    }
    data.update(overrides)
    return data


def jpeg_upload(name: str = "fapiao.jpg", size: tuple[int, int] = (64, 48)) -> tuple[io.BytesIO, str]:
    return io.BytesIO(f.jpeg_bytes(size)), name


def reload(req: PaymentRequest) -> PaymentRequest:
    db.session.expire_all()
    return db.session.get(PaymentRequest, req.id)  # type: ignore[return-value]


# ---- the form ---------------------------------------------------------------------------------------


def test_new_form_offers_phone_inputs_and_a_fresh_key(client):
    client.login("dy_baozhang")
    page = client.get("/requests/new")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for name in (
        "payee_name",
        "payee_bank",
        "payee_account",
        "amount",
        "purpose",
        "subject_id",
        "fund_source",
        "budget_line",
        "meeting_date",
        "meeting_attendance",
        "meeting_amount",
    ):
        assert f'name="{name}"' in html
    assert re.search(
        r'<input[^>]*inputmode="decimal"[^>]*name="amount"[^>]*type="text"|'
        r'<input[^>]*name="amount"[^>]*type="text"',
        html,
    )
    assert 'capture="environment"' in html and 'accept="image/*,application/pdf"' in html
    assert 'type="date"' in html and "5501 公益支出" in html
    assert "保存草稿" in html and "保存并提交" in html
    key = key_in(html)
    assert len(key) == 32 and key != key_in(client.get("/requests/new").get_data(as_text=True))


def test_new_form_is_for_accountants_only(client):
    client.login("dy_shuji")
    assert client.get("/requests/new").status_code == 403
    assert "新建支出申请" not in client.get("/").get_data(as_text=True)


def test_save_draft_creates_it_with_a_decimal_amount(client):
    client.login("dy_baozhang")
    response = client.post("/requests/new", data=form_data())
    assert response.status_code == 303
    req_id = int(response.headers["Location"].rsplit("/", 1)[1])
    req = db.session.get(PaymentRequest, req_id)
    assert req.state == State.DRAFT and req.amount == Decimal("1234.50")
    assert req.payee_account == "6228 4800 1234 5678 901"
    assert req.village.code == "HL-YC-01"
    page = client.get(f"/requests/{req_id}").get_data(as_text=True)
    assert "草稿已保存" in page
    assert "壹仟贰佰叁拾肆元伍角整" in page and "¥1,234.50" in page


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0", "金额必须大于零"),
        ("0.00", "金额必须大于零"),
        ("-5", "金额不能为负数"),
        ("12.345", "最多保留两位小数"),
        ("abc", "金额格式不正确"),
        ("1e5", "金额格式不正确"),
        ("10000000.01", "金额超过单笔上限"),
    ],
)
def test_bad_amount_is_refused_and_what_was_typed_is_kept(client, amount, message):
    client.login("dy_baozhang")
    before = counts()
    response = client.post("/requests/new", data=form_data(amount=amount, payee_name="村西头五金店"))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html
    assert f'value="{amount}"' in html and 'value="村西头五金店"' in html
    assert counts() == before


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("payee_account", "62284800abc", "银行账号只能填写数字"),
        ("payee_name", "长" * 101, "最多 100 个字"),
        ("meeting_attendance", "-3", "参会人数请填写正整数"),
        ("meeting_date", "2026-13-45", "日期格式不正确"),
        ("subject_id", "999999", "请选择有效的会计科目"),
        ("meeting_amount", "abc", "金额格式不正确"),
    ],
)
def test_bad_field_is_refused_under_that_field(client, field, value, message):
    client.login("dy_baozhang")
    before = counts()
    response = client.post("/requests/new", data=form_data(**{field: value}))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert counts() == before


def test_submit_with_missing_fields_keeps_the_draft_and_names_each_field(client):
    client.login("dy_baozhang")
    response = client.post(
        "/requests/new",
        data=form_data(payee_name="", payee_bank="", purpose="", subject_id="", action="submit"),
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    for text in (
        "请填写收款人。",
        "请填写收款人开户行。",
        "请填写资金用途。",
        "请选择会计科目。",
        "草稿已保存，但还不能提交",
    ):
        assert text in html
    req = db.session.execute(select(PaymentRequest).order_by(PaymentRequest.id.desc())).scalars().first()
    assert req.state == State.DRAFT and req.round == 0
    assert f'action="/requests/{req.id}/edit"' in html  # the form now edits the saved draft
    assert not [a for a in req.actions if a.action == Action.SUBMIT]


def test_large_request_needs_the_four_deliberations_evidence(client):
    client.login("dy_baozhang")
    data = form_data(
        amount="60000",
        action="submit",
        meeting_date="2099-01-01",
        meeting_attendance="",
        meeting_amount="50000",
    )
    data["file"] = jpeg_upload()
    data["kind"] = "invoice"
    html = client.post("/requests/new", data=data, content_type="multipart/form-data").get_data(as_text=True)
    for text in (
        "会议日期（不晚于今天）",
        "请填写参会人数",
        "决议金额不能低于申请金额",
        "缺少附件：合同",
        "缺少附件：四议两公开会议记录",
    ):
        assert text in html


def test_new_form_with_photo_then_submit_reaches_the_first_step(client):
    client.login("dy_baozhang")
    # A person paid on a labour slip (a 发票 would need its facts typed first: issue 11).
    data = form_data(action="submit", payee_name="李卫东")
    data["file"] = jpeg_upload()
    data["kind"] = "labour_slip"
    response = client.post("/requests/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 303
    req = db.session.get(PaymentRequest, int(response.headers["Location"].rsplit("/", 1)[1]))
    assert req.state == State.PENDING and req.step == 1 and len(req.attachments) == 1
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "已提交审批" in page and "等待第 1/3 步：村负责人审批" in page


def test_same_new_form_sent_twice_creates_one_request(client):
    client.login("dy_baozhang")
    data = form_data(action="submit", payee_name="李卫东")
    before = counts()
    locations = []
    for _ in range(2):
        payload = dict(data, file=jpeg_upload(), kind="labour_slip")
        response = client.post("/requests/new", data=payload, content_type="multipart/form-data")
        assert response.status_code == 303
        locations.append(response.headers["Location"])
    assert locations[0] == locations[1]
    after = counts()
    assert after[0] == before[0] + 1  # one request
    assert after[1] == before[1] + 1  # one submission
    assert after[2] == before[2] + 1  # one attachment


def test_edit_a_draft(client):
    req = f.draft()
    client.login("dy_baozhang")
    page = client.get(f"/requests/{req.id}/edit").get_data(as_text=True)
    assert 'value="1200.00"' in page and "删除" in page
    response = client.post(
        f"/requests/{req.id}/edit", data=form_data(amount="888.80", client_key=key_in(page))
    )
    assert response.status_code == 303
    assert reload(req).amount == Decimal("888.80")


def test_edit_is_refused_once_submitted(client):
    req = f.in_state(State.PENDING)
    client.login("dy_baozhang")
    before = counts()
    assert client.get(f"/requests/{req.id}/edit").status_code == 303  # the form is not offered
    response = client.post(f"/requests/{req.id}/edit", data=form_data(amount="1.00"))
    assert response.status_code == 409 and "不能执行“修改”" in response.get_data(as_text=True)
    assert counts() == before and reload(req).amount == Decimal("1200.00")


# ---- attachments -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"this is not a picture at all", "fapiao.jpg", "只能上传 JPG、PNG、WEBP 图片或 PDF 文件"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "x.png", "只能上传"),
        (b"\xff\xd8\xff\xe0broken jpeg", "x.jpg", "图片文件已损坏"),
        (b"", "empty.jpg", "文件是空的"),
    ],
)
def test_bad_attachment_is_refused_by_its_content(client, content, name, message):
    req = f.draft(with_attachments=False)
    client.login("dy_baozhang")
    before = counts()
    response = client.post(
        f"/requests/{req.id}/attachments",
        data={"kind": "invoice", "file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert message in response.get_data(as_text=True)
    assert counts() == before


def test_too_large_attachment_is_refused(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_UPLOAD_BYTES", 2000)
    req = f.draft(with_attachments=False)
    client.login("dy_baozhang")
    before = counts()
    big = f.jpeg_bytes((400, 400), color="red") + b"\0" * 3000
    response = client.post(
        f"/requests/{req.id}/attachments",
        data={"kind": "invoice", "file": (io.BytesIO(big), "a.jpg")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "文件超过" in response.get_data(as_text=True)
    assert counts() == before


def test_bad_attachment_on_the_form_page_keeps_the_typed_fields(client):
    client.login("dy_baozhang")
    before = counts()
    data = form_data(payee_name="东岳村水泥预制厂", file=(io.BytesIO(b"hello"), "a.jpg"), kind="invoice")
    response = client.post("/requests/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "只能上传" in html and 'value="东岳村水泥预制厂"' in html
    assert counts() == before


def test_upload_and_view_attachment_only_in_scope(client, make_client):
    req = f.draft(with_attachments=False)
    client.login("dy_baozhang")
    photo = Image.new("RGB", (2400, 1800), "white")
    buf = io.BytesIO()
    photo.save(buf, "JPEG")
    original = buf.getvalue()
    response = client.post(
        f"/requests/{req.id}/attachments",
        data={"kind": "invoice", "file": (io.BytesIO(original), "发票.jpg"), "back": "edit"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/requests/{req.id}/edit")
    att = reload(req).attachments[0]
    assert att.kind.value == "invoice" and att.content_type == "image/jpeg"

    shown = client.get(f"/requests/attachments/{att.id}")
    assert shown.status_code == 200 and shown.mimetype == "image/jpeg"
    assert shown.headers["Content-Disposition"].startswith("inline")
    assert shown.headers["X-Content-Type-Options"] == "nosniff"
    assert shown.headers["Cache-Control"] == "no-store"  # shared village PCs keep no copy
    with Image.open(io.BytesIO(shown.data)) as img:
        assert max(img.size) == 1600  # the display copy
    assert client.get(f"/requests/attachments/{att.id}?original=1").data == original
    with Image.open(io.BytesIO(client.get(f"/requests/attachments/{att.id}?size=thumb").data)) as img:
        assert max(img.size) <= 360

    liaison = make_client()
    liaison.login("yc_lianqing")
    assert liaison.get(f"/requests/attachments/{att.id}").status_code == 200
    for outsider in ("xy_baozhang", "xy_shuji", "mk_shenhe", "mk_chuna", "hl_admin"):
        other = make_client()
        other.login(outsider)
        assert other.get(f"/requests/attachments/{att.id}").status_code == 404, outsider
        assert other.get(f"/requests/attachments/{att.id}?original=1").status_code == 404, outsider
    assert client.get("/requests/attachments/999999").status_code == 404


def test_same_attachment_sent_twice_is_stored_once(client):
    req = f.draft(with_attachments=False)
    client.login("dy_baozhang")
    data = f.jpeg_bytes(color="yellow")
    for _ in range(2):
        client.post(
            f"/requests/{req.id}/attachments",
            data={"kind": "invoice", "file": (io.BytesIO(data), "a.jpg")},
            content_type="multipart/form-data",
        )
    assert len(reload(req).attachments) == 1


def test_delete_attachment(client):
    req = f.draft()
    att_id = req.attachments[0].id
    other = f.draft()
    client.login("dy_baozhang")
    # an attachment id of another request under this request's URL is not found
    assert client.post(f"/requests/{other.id}/attachments/{att_id}/delete").status_code == 404
    response = client.post(f"/requests/{req.id}/attachments/{att_id}/delete")
    assert response.status_code == 303
    assert reload(req).attachments == []


def test_attachments_cannot_change_after_submission(client):
    req = f.in_state(State.PENDING)
    client.login("dy_baozhang")
    before = counts()
    r1 = client.post(
        f"/requests/{req.id}/attachments",
        data={"kind": "invoice", "file": jpeg_upload(size=(65, 49))},
        content_type="multipart/form-data",
    )
    r2 = client.post(f"/requests/{req.id}/attachments/{req.attachments[0].id}/delete")
    assert r1.status_code == 409 and r2.status_code == 409
    assert counts() == before


# ---- the workflow through the pages -----------------------------------------------------------------


def act(client, req_id: int, action: str, **data: object):
    page = client.get(f"/requests/{req_id}").get_data(as_text=True)
    payload = {"client_key": key_in(page), **data}
    return client.post(f"/requests/{req_id}/{action}", data=payload)


def test_return_resubmit_and_approve_through_every_login(make_client):
    req = f.in_state(State.PENDING, "12000.00")
    accountant = make_client()
    accountant.login("dy_baozhang")
    shuji = make_client()
    shuji.login("dy_shuji")
    page = shuji.get(f"/requests/{req.id}").get_data(as_text=True)
    assert "同意" in page and "退回修改" in page and "驳回" in page and 'name="reason"' in page
    assert "撤回" not in page.split('id="actions"')[1].split("</section>")[0]

    assert act(shuji, req.id, "return", reason="发票抬头写错了，请重开").status_code == 303
    assert reload(req).state == State.RETURNED
    page = accountant.get(f"/requests/{req.id}/edit").get_data(as_text=True)
    assert "发票抬头写错了，请重开" in page
    response = accountant.post(
        f"/requests/{req.id}/edit",
        data=form_data(
            amount="12000",
            purpose="村委会办公楼屋面防水维修（已重开发票）",
            action="submit",
            client_key=key_in(page),
        ),
    )
    assert response.status_code == 303
    req = reload(req)
    assert req.state == State.PENDING and req.round == 2 and req.step == 1

    for name in f.approvers_for(req):
        approver = make_client()
        approver.login(name)
        assert act(approver, req.id, "approve", comment=f"{name} 同意").status_code == 303
    req = reload(req)
    assert req.state == State.APPROVED
    page = accountant.get(f"/requests/{req.id}").get_data(as_text=True)
    assert "第 1 轮" in page and "第 2 轮" in page and "（已退回，保留记录）" in page
    assert "理由：发票抬头写错了，请重开" in page
    assert "包村领导" in page and "yc_baocun 同意" in page
    assert "等待代理中心出纳支付" in page


def test_approve_shows_success_and_moves_one_step(client):
    req = f.in_state(State.PENDING)
    client.login("dy_shuji")
    response = act(client, req.id, "approve")
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "已同意" in page and "等待第 2/3 步：村务监督委员会主任审批" in page
    # the same person cannot act at the next step
    assert "身份审批第" not in page and f'action="/requests/{req.id}/approve"' not in page


def test_return_without_reason_is_refused_and_nothing_written(client):
    req = f.in_state(State.PENDING)
    client.login("dy_shuji")
    before = counts()
    for action in ("return", "reject"):
        response = act(client, req.id, action, reason="   ")
        assert response.status_code == 422
        assert "请填写理由" in response.get_data(as_text=True)
    assert counts() == before and reload(req).state == State.PENDING


def test_reject_through_the_page(client):
    req = f.in_state(State.PENDING)
    client.login("dy_shuji")
    response = act(client, req.id, "reject", reason="不属于村级公益支出范围")
    assert response.status_code == 303
    assert reload(req).state == State.REJECTED
    page = client.get(f"/requests/{req.id}").get_data(as_text=True)
    assert "已驳回" in page and "不属于村级公益支出范围" in page and 'id="actions"' not in page


def test_withdraw_through_the_page_and_not_after_a_decision(client, make_client):
    req = f.in_state(State.PENDING)
    client.login("dy_baozhang")
    assert act(client, req.id, "withdraw").status_code == 303
    assert reload(req).state == State.WITHDRAWN

    other = f.in_state(State.PENDING)
    shuji = make_client()
    shuji.login("dy_shuji")
    act(shuji, other.id, "approve")
    before = counts()
    page = client.get(f"/requests/{other.id}").get_data(as_text=True)
    assert f"/requests/{other.id}/withdraw" not in page
    response = client.post(f"/requests/{other.id}/withdraw", data={"client_key": uuid.uuid4().hex})
    assert response.status_code == 409
    assert counts() == before


def test_submit_draft_from_the_detail_page(client):
    req = f.draft()
    client.login("dy_baozhang")
    assert "提交审批" in client.get(f"/requests/{req.id}").get_data(as_text=True)
    assert act(client, req.id, "submit").status_code == 303
    assert reload(req).state == State.PENDING


def test_submit_incomplete_draft_from_the_detail_page_lists_what_is_missing(client):
    req = f.draft(with_attachments=False)
    client.login("dy_baozhang")
    before = counts()
    response = act(client, req.id, "submit")
    assert response.status_code == 422
    assert "缺少附件：发票或收款收据" in response.get_data(as_text=True)
    assert counts() == before


def test_same_action_form_sent_twice_acts_once(client):
    req = f.in_state(State.PENDING)
    client.login("dy_shuji")
    page = client.get(f"/requests/{req.id}").get_data(as_text=True)
    key = key_in(page.split('/approve"')[1])
    before = counts()
    for _ in range(2):
        response = client.post(f"/requests/{req.id}/approve", data={"client_key": key, "comment": "同意"})
        assert response.status_code == 303
    after = counts()
    assert after[1] == before[1] + 1 and after[3] == before[3] + 1
    assert reload(req).step == 2


def test_stale_page_gets_the_already_handled_page(client, make_client):
    req = f.in_state(State.PENDING)
    client.login("dy_shuji")
    page = client.get(f"/requests/{req.id}").get_data(as_text=True)
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    # meanwhile the accountant withdraws it
    accountant = make_client()
    accountant.login("dy_baozhang")
    act(accountant, req.id, "withdraw")
    before = counts()
    response = client.post(
        f"/requests/{req.id}/approve", data={"client_key": uuid.uuid4().hex, "version": version}
    )
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "该事项已被他人处理" in html and f'href="/requests/{req.id}"' in html
    assert counts() == before


@pytest.mark.parametrize(
    ("state", "who", "action"),
    [
        (State.DRAFT, "dy_shuji", "approve"),
        (State.DRAFT, "dy_baozhang", "withdraw"),
        (State.PENDING, "dy_baozhang", "submit"),
        (State.APPROVED, "dy_baozhang", "withdraw"),
        (State.APPROVED, "yc_zhenzhang", "reject"),
        (State.REJECTED, "dy_baozhang", "submit"),
        (State.PAID, "dy_shuji", "return"),
    ],
)
def test_action_not_open_in_this_state_is_refused_and_nothing_written(client, state, who, action):
    req = f.in_state(state)
    client.login(who)
    before = counts()
    response = client.post(
        f"/requests/{req.id}/{action}", data={"client_key": uuid.uuid4().hex, "reason": "x"}
    )
    assert response.status_code == 409
    assert "不能执行" in response.get_data(as_text=True)
    assert counts() == before and reload(req).state == state


def test_reader_who_may_not_act_gets_403(client, make_client):
    req = f.in_state(State.PENDING)
    client.login("yc_lianqing")
    page = client.get(f"/requests/{req.id}")
    assert page.status_code == 200 and 'id="actions"' not in page.get_data(as_text=True)
    before = counts()
    assert (
        client.post(f"/requests/{req.id}/approve", data={"client_key": uuid.uuid4().hex}).status_code == 403
    )
    supervisor = make_client()
    supervisor.login("dy_jianwei")  # not yet their step
    assert (
        supervisor.post(f"/requests/{req.id}/approve", data={"client_key": uuid.uuid4().hex}).status_code
        == 403
    )
    assert counts() == before


@pytest.mark.parametrize(
    "outsider", ["xy_baozhang", "xy_shuji", "mk_baozhang", "mk_shenhe", "mk_chuna", "hl_admin"]
)
def test_other_villages_ids_are_not_found(client, outsider):
    req = f.in_state(State.PENDING)
    att = req.attachments[0]
    client.login(outsider)
    before = counts()
    assert client.get(f"/requests/{req.id}").status_code == 404
    assert client.get(f"/requests/{req.id}/edit").status_code == 404
    for action in ("submit", "approve", "return", "reject", "withdraw"):
        response = client.post(
            f"/requests/{req.id}/{action}", data={"client_key": uuid.uuid4().hex, "reason": "x"}
        )
        assert response.status_code == 404, action
    assert (
        client.post(
            f"/requests/{req.id}/attachments",
            data={"kind": "invoice", "file": jpeg_upload()},
            content_type="multipart/form-data",
        ).status_code
        == 404
    )
    assert client.post(f"/requests/{req.id}/attachments/{att.id}/delete").status_code == 404
    assert client.get(f"/payments/{req.id}/pay").status_code == 404
    assert counts() == before
    assert client.get("/requests/99999999").status_code == 404


# ---- list and to-do ----------------------------------------------------------------------------------


def test_list_filters_and_keyset_pages(client, make_client, app, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_SIZE", 3)
    made = [
        f.draft(amount, payee_name=f"测试收款人{i}", with_attachments=False)
        for i, amount in enumerate(["100.00", "2000.00", "15000.00", "300.00", "7000.00"])
    ]
    pending = f.in_state(State.PENDING, "999.00", payee_name="审批中的收款人")
    theirs = f.draft(
        "555.00",
        accountant="xy_baozhang",
        village="HL-YC-02",
        payee_name="西岳村收款人",
        with_attachments=False,
    )
    client.login("dy_baozhang")

    def payees(html: str) -> list[str]:
        return re.findall(r'<strong class="payee">([^<]+)</strong>', html)

    html = client.get("/requests?payee=测试收款人").get_data(as_text=True)
    first = payees(html)
    assert first == ["测试收款人4", "测试收款人3", "测试收款人2"]  # newest first
    more = re.search(r'href="([^"]+)" rel="next">更多', html).group(1).replace("&amp;", "&")
    second = payees(client.get(more).get_data(as_text=True))
    assert second == ["测试收款人1", "测试收款人0"]

    assert payees(client.get("/requests?state=pending").get_data(as_text=True)) == ["审批中的收款人"]
    ranged = payees(client.get("/requests?payee=测试&amount_min=1000&amount_max=8000").get_data(as_text=True))
    assert ranged == ["测试收款人4", "测试收款人1"]
    page = client.get("/requests?amount_min=abc").get_data(as_text=True)
    assert "金额格式不正确" in page
    today = made[0].created_at.astimezone(CST).date()
    assert (
        len(
            payees(
                client.get(f"/requests?payee=测试&date_from={today}&date_to={today}").get_data(as_text=True)
            )
        )
        == 3
    )
    assert (
        payees(
            client.get("/requests?payee=测试&date_from=2001-01-01&date_to=2001-01-02").get_data(as_text=True)
        )
        == []
    )
    # the accountant sees only their village; the township sees both and can filter by village
    assert "西岳村收款人" not in client.get("/requests?payee=收款人").get_data(as_text=True)
    township = make_client()
    township.login("yc_shenhe")
    html = township.get(f"/requests?village={theirs.village_id}").get_data(as_text=True)
    assert "西岳村收款人" in html and "测试收款人0" not in html
    other = make_client()
    other.login("mk_shenhe")
    assert "测试收款人" not in other.get("/requests?payee=测试").get_data(as_text=True)
    assert pending.id


def test_todo_lists_oldest_first_with_the_step_waited_for(client, make_client):
    first = f.in_state(State.PENDING, "100.00", payee_name="最早的申请")
    second = f.in_state(State.PENDING, "200.00", payee_name="后来的申请")
    from datetime import timedelta

    first.waiting_since = first.waiting_since - timedelta(days=4)
    db.session.commit()
    client.login("dy_shuji")
    html = client.get("/").get_data(as_text=True)
    assert html.index("最早的申请") < html.index("后来的申请")
    assert "已等待 4 天" in html and "待村负责人审批" in html and "第 1/3 步" in html
    assert second.id
    accountant = make_client()
    accountant.login("dy_baozhang")
    assert "＋ 新建支出申请" in accountant.get("/").get_data(as_text=True)


def test_a_refused_form_asks_to_choose_the_photo_again(client):
    client.login("dy_baozhang")
    data = form_data(amount="abc", file=jpeg_upload(), kind="invoice")
    html = client.post("/requests/new", data=data, content_type="multipart/form-data").get_data(as_text=True)
    assert "刚才选的文件没有保存" in html
    # when the draft and its photo were saved but submitting needs more, the photo is not asked again
    data = form_data(action="submit", purpose="", file=jpeg_upload(), kind="invoice")
    html = client.post("/requests/new", data=data, content_type="multipart/form-data").get_data(as_text=True)
    assert "请填写资金用途" in html and "刚才选的文件没有保存" not in html


def test_same_edit_form_with_submit_sent_twice_submits_once(client):
    req = f.in_state(State.RETURNED)
    client.login("dy_baozhang")
    page = client.get(f"/requests/{req.id}/edit").get_data(as_text=True)
    data = form_data(action="submit", client_key=key_in(page), purpose="已补充验收单")
    before = counts()
    for _ in range(2):
        response = client.post(f"/requests/{req.id}/edit", data=dict(data))
        assert response.status_code == 303
    after = counts()
    assert after[1] == before[1] + 1
    req = reload(req)
    assert req.state == State.PENDING and req.round == 2 and req.purpose == "已补充验收单"


def test_saving_a_returned_request_says_it_is_not_yet_resubmitted(client):
    req = f.in_state(State.RETURNED)
    client.login("dy_baozhang")
    response = client.post(f"/requests/{req.id}/edit", data=form_data(), follow_redirects=True)
    assert "修改已保存，尚未重新提交" in response.get_data(as_text=True)
    assert reload(req).state == State.RETURNED


def test_an_unexpected_error_mid_action_leaves_nothing_written(client, db, monkeypatch):
    """Views do not catch every exception themselves: the app rolls back the unit of work on any error."""
    from finance.payment_requests import services as _services
    from finance.payment_requests.models import RequestAction

    req = f.in_state(State.PENDING)
    events = db.execute(select(func.count(Event.id))).scalar_one()
    real_approve = _services.approve

    def approve_then_fail(*args, **kwargs):
        real_approve(*args, **kwargs)
        raise RuntimeError("boom after the write")

    monkeypatch.setattr(_services, "approve", approve_then_fail)
    client.login("dy_shuji")
    with pytest.raises(RuntimeError):
        client.post(f"/requests/{req.id}/approve", data={"comment": "", "client_key": "k" * 32})
    db.expire_all()
    assert db.get(type(req), req.id).state == State.PENDING
    assert db.execute(select(func.count(Event.id))).scalar_one() == events
    assert db.execute(select(func.count(RequestAction.id)).where(RequestAction.action == "approve")).scalar_one() == 0

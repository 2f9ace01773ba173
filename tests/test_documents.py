"""Printed documents, read back: the 支付审批单, its QR verification page, the liaison's trail report and
the monthly disclosure sheet. Every PDF is parsed with pypdf; fonts are checked with pdffonts and QR
codes decoded with zbarimg from a pdftoppm rendering, as a phone would read the paper."""

from __future__ import annotations

import io
import re
import subprocess
import uuid
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select, text

import audit
from finance.documents import services
from finance.documents.rendering import fast_subsetting_available
from finance.extensions import db
from finance.payment_requests import services as requests
from finance.payments import services as payments
from finance.payments.models import Payment
from finance.timefmt import today_local
from finance.workflow import State
from tests import factories as f


def pdf_pages(data: bytes) -> list[str]:
    """The text of each page, with all whitespace removed (CJK text extraction inserts spaces)."""
    assert data.startswith(b"%PDF-")
    return [re.sub(r"\s+", "", page.extract_text() or "") for page in PdfReader(io.BytesIO(data)).pages]


def decode_qr(data: bytes, tmp_path: Path) -> list[str]:
    """Render the PDF's pages to PNG (pdftoppm) and decode every QR code on them (zbarimg)."""
    pdf = tmp_path / "doc.pdf"
    pdf.write_bytes(data)
    subprocess.run(["pdftoppm", "-r", "150", "-png", str(pdf), str(tmp_path / "page")], check=True)
    found = []
    for png in sorted(tmp_path.glob("page*.png")):
        out = subprocess.run(["zbarimg", "--quiet", "--raw", str(png)], capture_output=True, text=True)
        found += [line for line in out.stdout.splitlines() if line]
    return found


def embedded_fonts(data: bytes, tmp_path: Path) -> list[tuple[str, str]]:
    """(font name, emb) for every font in the PDF, from pdffonts."""
    pdf = tmp_path / "fonts.pdf"
    pdf.write_bytes(data)
    out = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines()[2:]:
        cols = line.split()
        emb = next(c for c in cols if c in ("yes", "no"))
        rows.append((cols[0], emb))
    return rows


def returned_then_paid(amount: str = "60000.00") -> tuple[object, str]:
    """A request returned once at step 2, resubmitted, approved by every step and paid."""
    req = f.draft(amount, purpose="东岳村主干道两侧绿化苗木采购（国槐120株）")
    acc = f.user("dy_baozhang")
    requests.submit(acc, req, client_key=uuid.uuid4().hex)
    requests.approve(f.user("dy_shuji"), req, "同意，按村两委会决议执行", client_key=uuid.uuid4().hex)
    requests.return_for_revision(f.user("dy_jianwei"), req, "请补充苗木验收单和供货清单")
    db.session.commit()
    requests.submit(acc, req, client_key=uuid.uuid4().hex)
    for name in f.approvers_for(req):
        requests.approve(f.user(name), req, "同意", client_key=uuid.uuid4().hex)
    reference = f"NYH{uuid.uuid4().hex[:10].upper()}"
    payments.record_payment(f.user("yc_chuna"), req, f.payment_input(req, bank_reference=reference),
                            client_key=uuid.uuid4().hex)
    db.session.commit()
    return req, reference


def login(client, username: str) -> None:
    """Log in as `username`, logging out whoever was logged in first."""
    client.post("/logout")
    client.csrf_token = None
    assert client.login(username).status_code == 302
    assert client.get("/").status_code == 200


def events(action: str) -> list[audit.Event]:
    return list(db.session.execute(select(audit.Event).where(audit.Event.action == action)
                                   .order_by(audit.Event.seq)).scalars())


def test_fast_font_subsetting_is_available():
    # Without libharfbuzz-subset0 a CJK page takes 11-17 s to subset instead of about 0.2 s.
    assert fast_subsetting_available()


# --- the approval form ----------------------------------------------------------------------------


@pytest.mark.slow  # renders a PDF
def test_approval_form_prints_the_request_its_approvals_payment_and_chain_position(client, tmp_path):
    req, reference = returned_then_paid()
    newest = services.newest_change(req)
    assert newest is not None
    login(client, "dy_baozhang")
    r = client.get(f"/documents/requests/{req.id}/approval-form.pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert r.headers["Cache-Control"] == "no-store"
    pages = pdf_pages(r.data)
    assert len(pages) == 1, "the approval form is one A4 page"
    page = pages[0]
    for expected in ["支付审批单", "东岳村", req.number, "濮阳市华龙区兴农农资经营部",
                     "中国农业银行濮阳华龙支行", "6228480012345678901", "东岳村主干道两侧绿化苗木采购",
                     "5401管理费用", "村集体经营收入",
                     "¥60,000.00", "人民币陆万元整",
                     # every step of the final round, with name and role
                     "王建国", "村负责人", "张桂兰", "村务监督委员会主任", "孙丽华", "三资代理中心审核会计",
                     "周振华", "包村领导", "吴国栋", "镇长",
                     # the earlier round that was returned, with its reason
                     "退回与重新提交记录", "请补充苗木验收单和供货清单", "此前已同意：王建国（村负责人）",
                     # the payment
                     reference, "郑晓燕", date.today().isoformat(),
                     # chain position
                     newest.chain_id, f"第{newest.seq}号事件", newest.entry_hash]:
        assert expected in page, expected
    for att in req.attachments:
        assert att.sha256[:16] in page
    # times are China time
    submitted = [a for a in req.actions if a.action.value == "submit"][-1].created_at
    from finance.timefmt import local_time
    assert local_time(submitted).replace(" ", "") in page

    printed = events("print_form")
    assert len(printed) == 1
    assert printed[0].subject_id == str(req.id) and printed[0].actor_name == "李秀英"
    assert printed[0].actor_role == "accountant" and printed[0].chain_id == "village:HL-YC-01"
    assert printed[0].before is None and printed[0].after is None
    # the print does not move the request's chain position: a second print shows the same event
    assert services.newest_change(req).seq == newest.seq


@pytest.mark.slow  # renders a PDF
def test_approval_form_embeds_a_cjk_font(client, tmp_path):
    req = f.in_state(State.APPROVED, "1200.00")
    login(client, "yc_chuna")
    r = client.get(f"/documents/requests/{req.id}/approval-form.pdf")
    fonts = embedded_fonts(r.data, tmp_path)
    assert fonts and all(emb == "yes" for _, emb in fonts), fonts
    # the two CJK faces (Noto Serif and Sans CJK SC), each cut to the page's characters
    # (finance/documents/fonts.py; their weight: tests/test_documents_weight.py)
    assert any("Sanzi-Sans-Bold" in name for name, _ in fonts), fonts
    assert any("Sanzi-Serif" in name for name, _ in fonts), fonts
    assert not any("CJK" in name for name, _ in fonts), fonts  # no whole system face besides them


@pytest.mark.slow  # renders a PDF
def test_approval_form_qr_code_decodes_to_its_verification_page(client, tmp_path):
    req = f.in_state(State.PAID, "1200.00")
    login(client, "dy_shuji")
    r = client.get(f"/documents/requests/{req.id}/approval-form.pdf")
    codes = decode_qr(r.data, tmp_path)
    assert len(codes) == 1
    url = codes[0]
    assert url.startswith("http://localhost/v/")
    token = url.rsplit("/", 1)[1]
    assert str(req.number) not in token
    page = client.get(url.removeprefix("http://localhost")).get_data(as_text=True)
    assert "与打印时一致" in page and req.number in page


def test_approval_form_is_404_outside_the_readers_scope(client):
    req = f.in_state(State.PENDING, "1200.00")
    url = f"/documents/requests/{req.id}/approval-form.pdf"
    assert client.get(url).status_code == 302  # not logged in: to the login page
    for outsider in ("mk_baozhang", "mk_lianqing", "xy_shuji", "hl_admin"):
        login(client, outsider)
        assert client.get(url).status_code == 404, outsider
    login(client, "dy_baozhang")
    assert client.get("/documents/requests/999999/approval-form.pdf").status_code == 404
    assert events("print_form") == []


@pytest.mark.slow  # renders a PDF
def test_long_history_still_fits_one_page(client):
    req = f.draft("60000.00", purpose="村委会办公楼屋面防水维修" * 6)
    acc = f.user("dy_baozhang")
    for reason in ("请补充验收单", "金额与合同不一致，请核对", "请补充“四议两公开”会议记录"):
        requests.submit(acc, req, client_key=uuid.uuid4().hex)
        requests.approve(f.user("dy_shuji"), req, "同意", client_key=uuid.uuid4().hex)
        requests.return_for_revision(f.user("dy_jianwei"), req, reason)
        db.session.commit()
    requests.submit(acc, req, client_key=uuid.uuid4().hex)
    db.session.commit()
    login(client, "dy_baozhang")
    pages = pdf_pages(client.get(f"/documents/requests/{req.id}/approval-form.pdf").data)
    assert len(pages) == 1
    assert "金额与合同不一致，请核对" in pages[0] and "待审批" in pages[0]


# --- the verification page ------------------------------------------------------------------------


def token_for(app, req) -> str:
    with app.test_request_context():
        return services.make_token(req, services.newest_change(req))


def test_verification_says_when_nothing_changed_after_printing(app, client):
    req = f.in_state(State.PENDING, "1200.00")
    token = token_for(app, req)
    page = client.get(f"/v/{token}").get_data(as_text=True)
    assert "与打印时一致" in page
    assert req.number in page and "¥1,200.00" in page
    assert "6228480012345678901" not in page  # only what the paper shows, and the page leaves out accounts


def test_verification_lists_what_changed_after_printing(app, client):
    req = f.in_state(State.PENDING, "1200.00")
    token = token_for(app, req)
    requests.approve(f.user("dy_shuji"), req, "同意", client_key=uuid.uuid4().hex)
    db.session.commit()
    page = client.get(f"/v/{token}").get_data(as_text=True)
    assert "打印后又有审批意见" in page and "与打印时一致" not in page
    assert "打印后发生的变化" in page and "同意" in page

    for name in f.approvers_for(req)[1:]:
        requests.approve(f.user(name), req, "同意", client_key=uuid.uuid4().hex)
    payments.record_payment(f.user("yc_chuna"), req, f.payment_input(req), client_key=uuid.uuid4().hex)
    db.session.commit()
    page = client.get(f"/v/{token}").get_data(as_text=True)
    assert "打印后已支付" in page
    # the later approvals and the payment (which carries its receipt), each with a time
    assert page.count("<li>") >= len(f.approvers_for(req))
    assert "支付" in page


def test_verification_of_a_paid_request_printed_after_payment_is_live(app, client):
    req = f.in_state(State.PAID, "1200.00")
    token = token_for(app, req)
    assert "与打印时一致" in client.get(f"/v/{token}").get_data(as_text=True)
    from tests.bank_helpers import reconcile

    reconcile(req)
    db.session.commit()
    page = client.get(f"/v/{token}").get_data(as_text=True)
    assert "打印后状态已变化" in page and "已对账" in page


def test_verification_refuses_guessed_and_altered_tokens(app, client):
    req = f.in_state(State.PENDING, "1200.00")
    token = token_for(app, req)
    body, signature = token.rsplit(".", 1)
    from itsdangerous import URLSafeSerializer
    forged_other_key = URLSafeSerializer("not-the-secret", salt=services.TOKEN_SALT).dumps(
        [req.id, 1, "", "pending"])
    with app.test_request_context():
        genuine = services._serializer()
        missing_request = genuine.dumps([10**9, 1, "", "pending"])
        wrong_shape = genuine.dumps({"r": req.id})
        altered_body = URLSafeSerializer("x").dumps([req.id, 999, "", "paid"]).rsplit(".", 1)[0]
    guesses = [
        str(req.id), str(req.number), "WzEsMSwiIiwicGVuZGluZyJd", body, f"{body}.",
        f"{body}.{signature[:-2]}AA",
        f"{altered_body}.{signature}", forged_other_key, missing_request, wrong_shape, "x" * 400,
    ]
    for guess in guesses:
        r = client.get(f"/v/{guess}")
        assert r.status_code == 404, guess
        page = r.get_data(as_text=True)
        assert req.number not in page and req.payee_name not in page and "¥" not in page
    assert client.get(f"/v/{token}").status_code == 200


def test_verification_flags_a_token_whose_printed_event_is_not_this_requests(app, client):
    req = f.in_state(State.PENDING, "1200.00")
    other = f.in_state(State.PENDING, "2300.00")
    with app.test_request_context():
        # genuinely signed, but claiming the position of another request's event (as after a rewrite)
        token = services._serializer().dumps([req.id, services.newest_change(other).seq,
                                               services.newest_change(other).entry_hash[:16], "pending"])
    page = client.get(f"/v/{token}").get_data(as_text=True)
    assert "不一致" in page and "与打印时一致" not in page


# --- the trail report -----------------------------------------------------------------------------


@pytest.mark.slow  # renders a PDF
def test_trail_report_for_a_liaison_lists_every_event_with_page_numbers_and_running_header(client):
    for i, amount in enumerate(("1200.00", "2300.00", "12000.00", "3400.00", "4500.00", "15600.00", "5600.00")):
        # a payee each: one payee paid all of these would cross a cumulative band (issue 11)
        f.in_state(State.PAID, amount, payee_name=f"华龙区第{i}供销门市", payee_account=f"62284800888800{i:02d}")
    today = today_local()
    chain = db.session.execute(select(audit.Event).where(audit.Event.chain_id == "village:HL-YC-01")
                               .order_by(audit.Event.seq)).scalars().all()
    login(client, "yc_lianqing")
    r = client.get(f"/documents/trail-report?village=HL-YC-01&start={today.replace(day=1)}&end={today}")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    pages = pdf_pages(r.data)
    total = len(pages)
    assert total >= 2
    for number, page in enumerate(pages, start=1):
        assert f"第{number}页共{total}页" in page, number
        assert "审计轨迹报告·岳村镇东岳村" in page, number  # running header
    whole = "".join(pages)
    assert "通过" in whole and "未通过" not in whole
    assert "该链尚无签名检查点" in whole or "最新检查点" in whole
    for event in chain:
        assert event.entry_hash[:16] in whole, event.seq
    assert chain[-1].entry_hash in whole  # the chain head, in full
    assert "李秀英" in whole and "廉情联络员" in whole and "请补充" not in whole
    exported = events("export_trail_report")
    assert len(exported) == 1 and exported[0].actor_name == "马德明"
    assert exported[0].subject_id == f"{today.replace(day=1)}..{today}"


@pytest.mark.slow  # renders a PDF
def test_trail_report_shows_a_failed_verification_and_the_newest_checkpoint(client, app):
    req = f.in_state(State.PAID, "1200.00")
    from finance.audit_keys import signing_key
    audit.issue(db.session, signing_key(), "village:HL-YC-01")
    db.session.commit()
    db.session.execute(text("UPDATE payment_request SET amount = 1.00 WHERE id = :id"), {"id": req.id})
    db.session.commit()
    db.session.expire_all()  # the test's session outlives requests; the app's does not
    today = today_local()
    login(client, "yc_lianqing")
    r = client.get(f"/documents/trail-report?village=HL-YC-01&start={today}&end={today}")
    whole = "".join(pdf_pages(r.data))
    assert "未通过" in whole and req.number in whole
    checkpoint = db.session.execute(
        select(audit.Checkpoint).order_by(audit.Checkpoint.id.desc())).scalars().first()
    assert checkpoint.signature[:40] in whole


def test_trail_report_is_for_liaisons_in_scope_only(client):
    today = today_local()
    url = f"/documents/trail-report?village=HL-YC-01&start={today}&end={today}"
    for outsider in ("dy_shuji", "yc_zhenzhang", "mk_lianqing", "hl_admin"):
        login(client, outsider)
        assert client.get(url).status_code == 404, outsider
    login(client, "yc_lianqing")
    for village in ("HL-MK-01", "NOPE", "HL-YC", str(f.unit("HL-MK-01").id)):
        url = f"/documents/trail-report?village={village}&start={today}&end={today}"
        assert client.get(url).status_code == 404, village
    assert events("export_trail_report") == []


def test_trail_report_form_and_bad_dates(client):
    login(client, "yc_lianqing")
    page = client.get("/documents/trail-report").get_data(as_text=True)
    assert "东岳村" in page and "西岳村" in page and "孟轲村" not in page
    r = client.get("/documents/trail-report?village=HL-YC-01&start=2026-13-01&end=2026-01-01")
    assert r.status_code == 400 and "请填写开始日期" in r.get_data(as_text=True)
    r = client.get("/documents/trail-report?village=HL-YC-01&start=2026-02-01&end=2026-01-01")
    assert r.status_code == 400 and "结束日期不能早于开始日期" in r.get_data(as_text=True)
    assert events("export_trail_report") == []


# --- the disclosure sheet -------------------------------------------------------------------------


@pytest.mark.slow  # renders a PDF
def test_disclosure_sheet_lists_the_months_payments_with_totals_and_a_qr_to_the_public_page(client, tmp_path):
    first = f.in_state(State.PAID, "1200.00", purpose="村部办公用品")
    second = f.in_state(State.PAID, "12345.67", purpose="村内道路修补", payee_name="华龙区路面修补队",
                        payee_account="6228480088889901")
    f.in_state(State.APPROVED, "999.00", purpose="尚未支付的申请")
    f.in_state(State.PAID, "800.00", accountant="xy_baozhang", village="HL-YC-02", purpose="西岳村的支出")
    value_date = db.session.execute(
        select(Payment.value_date).where(Payment.request_id == first.id)).scalar_one()
    village = first.village
    login(client, "dy_jianwei")
    r = client.get(f"/documents/disclosure/{village.id}/{value_date.year}/{value_date.month}.pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    pages = pdf_pages(r.data)
    assert len(pages) == 1
    page = pages[0]
    for expected in ["东岳村财务公开", f"{value_date.year}年{value_date.month}月", "村部办公用品",
                     "村内道路修补", "濮阳市华龙区兴农农资经营部", "1,200.00", "12,345.67", "13,545.67",
                     "人民币壹万叁仟伍佰肆拾伍元陆角柒分", "5401管理费用", "月初余额", "—"]:
        assert expected in page, expected
    assert "尚未支付的申请" not in page and "西岳村的支出" not in page
    codes = decode_qr(r.data, tmp_path)
    period = f"{value_date.year:04d}-{value_date.month:02d}"
    assert codes == [f"http://localhost/gongkai/HL-YC-01/{period}"]
    assert len(events("print_disclosure")) == 1
    assert second.number  # both lines come from paid requests

    anonymous = client.application.test_client()
    online = anonymous.get(f"/gongkai/HL-YC-01/{period}")
    assert online.status_code == 200
    html = online.get_data(as_text=True)
    assert "村部办公用品" in html and "¥12,345.67" in html and "¥13,545.67" in html
    assert "西岳村的支出" not in html and "6228480012345678901" not in html


@pytest.mark.slow  # renders a PDF
def test_disclosure_scope_and_bad_months(client):
    village = f.unit("HL-YC-01")
    today = today_local()
    url = f"/documents/disclosure/{village.id}/{today.year}/{today.month}.pdf"
    for outsider in ("mk_baozhang", "xy_shuji", "hl_admin"):
        login(client, outsider)
        assert client.get(url).status_code == 404, outsider
    login(client, "dy_baozhang")
    assert client.get(f"/documents/disclosure/{village.id}/{today.year + 1}/1.pdf").status_code == 404
    assert client.get(f"/documents/disclosure/{village.id}/{today.year}/13.pdf").status_code == 404
    assert client.get(f"/documents/disclosure/{f.unit('HL-YC').id}/{today.year}/1.pdf").status_code == 404
    assert client.get("/gongkai/HL-YC-99/2026-01").status_code == 404
    assert client.get("/gongkai/HL-YC/2026-01").status_code == 404  # a township, not a village
    assert client.get("/gongkai/HL-YC-01/2026-1").status_code == 404
    assert client.get(f"/gongkai/HL-YC-01/{today.year + 1}-01").status_code == 404
    r = client.get(f"/documents/disclosure/{village.id}/2001/1.pdf")
    assert r.status_code == 200, r.get_data(as_text=True)[-800:]
    pages = pdf_pages(r.data)
    assert "本月无资金支出" in pages[0]


@pytest.mark.parametrize("year,month,first,following", [(2026, 1, date(2026, 1, 1), date(2026, 2, 1)),
                                                        (2026, 12, date(2026, 12, 1), date(2027, 1, 1))])
def test_month_bounds(year, month, first, following):
    assert services.month_bounds(year, month) == (first, following)


def test_disclosure_form_picks_a_village_in_scope_and_a_month(client):
    east, west = f.unit("HL-YC-01"), f.unit("HL-YC-02")
    login(client, "dy_shuji")
    page = client.get("/documents/disclosure").get_data(as_text=True)
    assert "东岳村" in page and "西岳村" not in page
    r = client.get(f"/documents/disclosure?village={east.id}&month=2026-03")
    assert r.status_code == 302
    assert r.headers["Location"].endswith(f"/documents/disclosure/{east.id}/2026/3.pdf")
    r = client.get(f"/documents/disclosure?village={east.id}&month=2026-13")
    assert r.status_code == 400 and "请选择本月或以前的月份" in r.get_data(as_text=True)
    assert client.get(f"/documents/disclosure?village={west.id}&month=2026-03").status_code == 404
    login(client, "yc_shenhe")  # township staff see every village of the township
    page = client.get("/documents/disclosure").get_data(as_text=True)
    assert "东岳村" in page and "西岳村" in page and "孟轲村" not in page
    login(client, "hl_admin")
    assert client.get("/documents/disclosure").status_code == 404


@pytest.mark.slow  # renders a PDF
@pytest.mark.parametrize("state", list(State))
def test_approval_form_prints_one_page_in_every_state(client, state):
    req = f.in_state(state, "12000.00")
    login(client, "dy_baozhang")
    r = client.get(f"/documents/requests/{req.id}/approval-form.pdf")
    assert r.status_code == 200
    pages = pdf_pages(r.data)
    assert len(pages) == 1
    assert state.label in pages[0] and "人民币壹万贰仟元整" in pages[0]
    if state in (State.RETURNED, State.REJECTED):
        assert "本次结果" in pages[0] and ("请补充验收单" in pages[0] or "不符合村级支出范围" in pages[0])
    if state == State.WITHDRAWN:
        assert "本次结果：撤回" in pages[0]
    if state == State.DRAFT:
        assert "尚未提交审批" in pages[0]


def test_qr_codes_use_the_public_base_url_when_configured(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://sanzi.example.gov.cn/")
    req = f.in_state(State.PENDING, "1200.00")
    with app.test_request_context():
        context = services.approval_form(req, f.user("dy_baozhang"))
        sheet = services.disclosure(req.village, 2026, 1)
    assert context["verify_url"] == f"https://sanzi.example.gov.cn/v/{context['token']}"
    assert sheet["public_url"] == "https://sanzi.example.gov.cn/gongkai/HL-YC-01/2026-01"


def test_trail_report_of_a_long_range_comes_in_parts(client, monkeypatch):
    monkeypatch.setattr(services, "REPORT_PART_EVENTS", 2)  # the request below makes 3 events
    f.in_state(State.PENDING, "1200.00")
    today = today_local()
    login(client, "yc_lianqing")
    r = client.get(f"/documents/trail-report?village=HL-YC-01&start={today}&end={today}")
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "分为 2 册" in page and "part=2" in page
    assert events("export_trail_report") == []
    r = client.get(f"/documents/trail-report?village=HL-YC-01&start={today}&end={today}&part=2")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert [e.subject_id for e in events("export_trail_report")] == [f"{today}..{today}#2"]

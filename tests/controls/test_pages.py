"""The controls' pages through the test client: who may open them, forms that save through the services,
bad input answered in Chinese with nothing saved, and the findings on the request page before the buttons."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from finance.controls.models import Contract, NegativeItem, RelatedPerson, Resolution
from finance.extensions import db as fdb
from finance.timefmt import today_local
from tests import factories as f
from tests.controls.helpers import attach, attach_invoice, draft, invoice_image, jpeg, slip_image, submit


def count(model):
    return fdb.session.execute(select(func.count()).select_from(model)).scalar_one()


def text(response):
    return response.get_data(as_text=True)


@pytest.mark.parametrize("username", ["dy_baozhang", "yc_shenhe", "yc_lianqing"])
def test_register_and_negative_list_pages_are_404_for_all_but_the_admin(client, username):
    client.login(username)
    town = f.unit("HL-YC").id
    for path in [f"/controls/townships/{town}/register", f"/controls/townships/{town}/negative-list",
                 f"/controls/officials/{f.user('dy_shuji').id}/register"]:
        assert client.get(path).status_code == 404, path


def test_the_admin_keeps_the_register_on_a_page(client):
    client.login("hl_admin")
    town = f.unit("HL-YC")
    page = client.get(f"/controls/townships/{town.id}/register")
    assert page.status_code == 200 and "王建国" in text(page) and "东岳村" in text(page)
    assert "关联人登记" in text(client.get("/admin/"))
    wang = f.user("dy_shuji")
    before = count(RelatedPerson)
    bad = client.post(f"/controls/officials/{wang.id}/register", data={
        "form": "add", "name": "王小明", "relation": "child", "id_number": "410902199001011230", "accounts": ""})
    assert bad.status_code == 422 and "身份证号校验位不正确" in text(bad)
    assert count(RelatedPerson) == before
    ok = client.post(f"/controls/officials/{wang.id}/register", data={
        "form": "add", "name": "王小明", "relation": "child", "accounts": "6228 4800 1234 0000 111"})
    assert ok.status_code == 303
    page = text(client.get(f"/controls/officials/{wang.id}/register"))
    assert "王小明" in page and "6228480012340000111" in page
    own = client.post(f"/controls/officials/{wang.id}/register", data={"form": "own", "accounts": "6228480099990000"})
    assert own.status_code == 303
    person = fdb.session.execute(select(RelatedPerson).where(RelatedPerson.name == "王小明")).scalar_one()
    history = text(client.get(f"/controls/people/{person.id}"))
    assert "修改记录" in history and "登记" in history
    assert client.post(f"/controls/people/{person.id}/remove", data={"reason": "登记错误"}).status_code == 303
    assert not person.active


def test_the_admin_keeps_the_negative_list_on_a_page(client):
    client.login("hl_admin")
    town = f.unit("HL-YC")
    assert client.post(f"/controls/townships/{town.id}/negative-list",
                       data={"item": "", "keywords": "", "action": "refuse"}).status_code == 422
    assert count(NegativeItem) == 0
    r = client.post(f"/controls/townships/{town.id}/negative-list",
                    data={"item": "烟酒", "keywords": "烟酒 香烟", "action": "refuse"})
    assert r.status_code == 303
    page = text(client.get(f"/controls/townships/{town.id}/negative-list"))
    assert "烟酒" in page and "香烟" in page and "禁止" in page


def files(**names):
    return {k: (io.BytesIO(v), f"{k}.jpg") for k, v in names.items()}


def test_the_accountant_records_a_resolution_and_a_contract(client, make_client):
    client.login("dy_baozhang")
    assert client.get("/controls/").status_code == 200
    photo = jpeg(slip_image("会议记录"))
    data = {"matter": "主街硬化工程", "matter_kind": "works", "meeting_date": today_local().isoformat(),
            "expected": "40", "present": "41", "amount": "80000"}
    bad = client.post("/controls/resolutions/new", data={**data, **files(minutes=photo, publicity=photo)},
                      content_type="multipart/form-data")
    assert bad.status_code == 422 and "实到人数（41）不能多于应到人数（40）" in text(bad)
    assert count(Resolution) == 0
    ok = client.post("/controls/resolutions/new", content_type="multipart/form-data",
                     data={**data, "present": "35", **files(minutes=photo, publicity=photo)})
    assert ok.status_code == 303
    res = fdb.session.execute(select(Resolution)).scalar_one()
    assert client.get(f"/controls/resolutions/{res.id}/files/minutes").status_code == 200
    contract = {"title": "施工合同", "counterparty": "宏基建筑", "amount": "0", "signed_on": today_local().isoformat(),
                "resolution_id": str(res.id)}
    bad = client.post("/controls/contracts/new", data={**contract, **files(file=photo)},
                      content_type="multipart/form-data")
    assert bad.status_code == 422 and "合同金额：金额必须大于零" in text(bad)
    assert count(Contract) == 0
    ok = client.post("/controls/contracts/new", data={**contract, "amount": "80000", **files(file=photo)},
                     content_type="multipart/form-data")
    assert ok.status_code == 303
    listing = text(client.get("/controls/"))
    assert "主街硬化工程" in listing and "施工合同" in listing
    # Another village's accountant cannot see them.
    other = make_client()
    other.login("xy_baozhang")
    assert other.get(f"/controls/resolutions/{res.id}").status_code == 404


def test_the_accountant_types_an_invoice_beside_its_photo_and_links_the_request(client, make_client, db):
    req = draft("300.00")
    att = attach(req, jpeg(invoice_image("25412000000012345678")))
    fdb.session.commit()
    client.login("dy_baozhang")
    page = text(client.get(f"/requests/{req.id}"))
    assert "审核提示" in page and "录入发票信息" in page and "还没有录入发票号码" in page
    bad = client.post(f"/controls/attachments/{att.id}/invoice", data={
        "number": "1234567A", "invoice_date": "2999-01-01", "seller": "加油站", "amount": "300"})
    assert bad.status_code == 422
    assert "发票号码只能是数字" in text(bad) and "开票日期不能晚于今天" in text(bad)
    ok = client.post(f"/controls/attachments/{att.id}/invoice", data={
        "number": "25412000000012345678", "invoice_date": today_local().isoformat(), "seller": "加油站",
        "amount": "300"})
    assert ok.status_code == 303
    assert "25412000000012345678" in text(client.get(f"/requests/{req.id}"))
    assert client.post(f"/controls/requests/{req.id}/link", data={"payee_id_number": "123"}).status_code == 422
    # Someone else may not: the village lead sees the request (403, as through the API), another village's
    # accountant does not (404).
    other = make_client()
    other.login("dy_shuji")
    assert other.get(f"/controls/attachments/{att.id}/invoice").status_code == 403
    assert other.get(f"/controls/requests/{req.id}/link").status_code == 403
    stranger = make_client()
    stranger.login("mk_baozhang")
    assert stranger.get(f"/controls/attachments/{att.id}/invoice").status_code == 404


def test_an_approver_sees_the_warnings_and_both_photos_before_the_buttons(client, db):
    photo = invoice_image("25412000000012345678", amount="980.00")
    first = draft("980.00")
    attach_invoice(first, "25412000000012345678", image=jpeg(photo))
    submit(first)
    second = draft("980.00")
    # The rotated copy carries a number typed differently (the typed number alone would not catch it).
    attach_invoice(second, "25412000000012340000", image=jpeg(photo.rotate(90, expand=True), quality=60))
    attach_invoice(second, "25412000000099999999", image=jpeg(invoice_image("x", seller="别的店")))
    submit(second)
    fdb.session.commit()
    client.login("dy_shuji")
    page = text(client.get(f"/requests/{second.id}"))
    assert page.index('id="controls"') < page.index('id="actions"')
    assert "高度相似" in page and first.number in page
    # The rotated copy is a warning; the other invoice on the same template only a note.
    assert "版式相似，但内容不同" in page
    assert page.count('class="pair"') == 2


def test_the_controls_pages_in_english_leave_no_chinese(make_client, db):
    from tests.test_i18n import ASCII_REQUEST, _chinese_left, _user_data

    typed = {k: v for k, v in ASCII_REQUEST.items() if k != "payee_name"}
    req = draft("300.00", payee="Green Seedlings Ltd", **typed)
    att = attach(req, jpeg(invoice_image("25412000000012345678")))
    fdb.session.commit()
    town, wang = f.unit("HL-YC"), f.user("dy_shuji")
    pages = [("hl_admin", f"/controls/townships/{town.id}/register"),
             ("hl_admin", f"/controls/officials/{wang.id}/register"),
             ("hl_admin", f"/controls/townships/{town.id}/negative-list"),
             ("hl_admin", f"/controls/townships/{town.id}/policy"),
             ("dy_baozhang", "/controls/"), ("dy_baozhang", "/controls/resolutions/new"),
             ("dy_baozhang", "/controls/contracts/new"), ("dy_baozhang", f"/controls/attachments/{att.id}/invoice"),
             ("dy_baozhang", f"/controls/requests/{req.id}/link"), ("dy_baozhang", f"/requests/{req.id}")]
    data = [*_user_data(), "东岳村股份经济合作社"]
    for username, path in pages:
        client = make_client()
        client.login(username)
        html = text(client.get(path + "?lang=en"))
        assert _chinese_left(html, data) == [], (path, _chinese_left(html, data))


def test_a_submitted_request_is_no_longer_typed_into(client, db):
    req = draft("300.00")
    att = attach_invoice(req, "25412000000012345678")
    submit(req)
    fdb.session.commit()
    client.login("dy_baozhang")
    r = client.get(f"/controls/attachments/{att.id}/invoice")
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/requests/{req.id}")
    assert client.post(f"/controls/requests/{req.id}/link", data={}).status_code == 303
    page = text(client.get(f"/requests/{req.id}"))
    assert "只有草稿或退回的申请可以修改" in page and "修改发票信息" not in page

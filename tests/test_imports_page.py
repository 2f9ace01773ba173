"""The page 批量导入 (/imports): upload, result, problems, activation links shown once, who may use it."""

from __future__ import annotations

import io
import json
import re
import zipfile

from sqlalchemy import select

from finance.imports.models import ImportBatch
from finance.payment_requests.models import PaymentRequest
from tests import factories as f
from tests.imports_helpers import events
from tests.test_documents import login
from tests.test_imports_history import PAYMENT
from tests.test_imports_people import PEOPLE


def upload(client, kind: str, name: str, data: bytes):
    return client.post("/imports", data={"kind": kind, "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def test_the_admin_imports_people_and_sees_the_links_once(client, db):
    login(client, "hl_admin")
    assert "批量导入" in client.get("/").get_data(as_text=True)
    page = client.get("/imports")
    assert page.status_code == 200 and "人员及角色" in page.get_data(as_text=True)
    r = upload(client, "people", "people.csv", PEOPLE.encode("gb18030"))
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "新增 2 条" in html, html[-3000:]
    codes = re.findall(r"/activate/([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})", html)
    assert len(codes) == 2
    batch = db.execute(select(ImportBatch).where(ImportBatch.kind == "people")).scalar_one()
    assert batch.via == "web" and batch.by_id == f.user("hl_admin").id
    again = client.get("/imports").get_data(as_text=True)
    assert not any(code in again for code in codes) and "people.csv" in again
    r = upload(client, "people", "people.csv", PEOPLE.encode("gb18030"))
    assert "没有新内容" in r.get_data(as_text=True)


def test_a_bad_file_lists_every_problem_and_imports_nothing(client, db):
    login(client, "hl_admin")
    before = events(db)
    text = "编码,名称,级别,上级编码\nQF,清丰县,县,\nQF-01,韩村镇,镇,QF-09\nQF-02,阳邵,省,QF\n"
    r = upload(client, "org-units", "units.csv", text.encode())
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "units.csv 第 3 行“上级编码”列" in html and "units.csv 第 4 行“级别”列" in html
    assert "没有导入任何内容" in html and events(db) == before


def test_history_with_its_files_in_a_zip(client, db):
    login(client, "hl_admin")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("export/history.jsonl", json.dumps(PAYMENT, ensure_ascii=False) + "\n")
        archive.writestr("export/files/LS2025-000123-1.jpg", f.jpeg_bytes())
    r = upload(client, "history", "export.zip", buf.getvalue())
    assert r.status_code == 200 and "新增 1 条" in r.get_data(as_text=True), r.get_data(as_text=True)[-2000:]
    req = db.execute(select(PaymentRequest).where(PaymentRequest.number == "LS2025-000123")).scalar_one()
    assert req.imported and len(req.attachments) == 1
    plain = upload(client, "history", "h.jsonl", (json.dumps({**PAYMENT, "number": "N2"}) + "\n").encode())
    assert plain.status_code == 422 and "zip" in plain.get_data(as_text=True)


def test_an_agency_reviewer_imports_history_of_its_own_villages_only(client, db):
    login(client, "yc_shenhe")
    page = client.get("/imports").get_data(as_text=True)
    assert "原系统支付历史" in page and "人员及角色" not in page
    own = {**PAYMENT, "attachments": []}
    other = {**PAYMENT, "number": "MK-1", "village": "HL-MK-01", "attachments": []}
    data = "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in (own, other)).encode()
    r = upload(client, "history", "h.jsonl", data)
    assert r.status_code == 422 and "h.jsonl 第 2 行“village”字段" in r.get_data(as_text=True)
    assert upload(client, "people", "p.csv", PEOPLE.encode()).status_code == 422
    assert upload(client, "history", "h.jsonl", data.splitlines()[0] + b"\n").status_code == 200


def test_the_page_is_not_there_for_others(client, db):
    for username in ("dy_baozhang", "yc_lianqing", "yc_chuna"):
        login(client, username)
        assert client.get("/imports").status_code == 404
        assert upload(client, "people", "p.csv", PEOPLE.encode()).status_code == 404


def test_the_admin_issues_a_new_activation_from_the_persons_page(client, db, app):
    from finance.auth import activation
    from finance.auth import services as accounts
    from finance.roles import Role

    person = accounts.create_invited_user(username="imp_lost", display_name="丢链接")
    accounts.assign_role(person, Role.ACCOUNTANT, f.unit("HL-YC-01"))
    old = activation.issue(person)
    db.commit()
    login(client, "hl_admin")
    page = client.get(f"/admin/users/{person.id}").get_data(as_text=True)
    assert "待激活" in page and "重新发放激活码" in page
    r = client.post(f"/admin/users/{person.id}/activation")
    html = r.get_data(as_text=True)
    codes = re.findall(r"/activate/([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})", html)
    assert r.status_code == 200 and len(codes) == 1 and codes[0] != old
    assert activation.pending(old) is None and activation.pending(codes[0]) is not None
    # a person with a password has nothing to activate
    assert "待激活" not in client.get(f"/admin/users/{f.user('dy_baozhang').id}").get_data(as_text=True)

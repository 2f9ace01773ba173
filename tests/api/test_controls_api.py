"""The controls through /api/v1 (finance/controls/api.py): resolutions and contracts with their files, what a
request pays against, 原件已收, and per township the register, the 负面清单 and the control policy. The same
scope, refusals and services as the pages (tests/controls/test_pages.py); the answers agree with the pages."""

from __future__ import annotations

import io
from typing import Any

from sqlalchemy import func, select

from finance.controls.models import (
    ControlPolicy,
    NegativeItem,
    OriginalsReceipt,
    RelatedPerson,
    RequestControl,
    Resolution,
)
from finance.extensions import db
from finance.workflow import State
from tests import factories as f
from tests.api.scenarios_controls import _photo, contract_form, resolution_form, resolution_id

MP = "multipart/form-data"


def count(model: Any) -> int:
    return int(db.session.execute(select(func.count()).select_from(model)).scalar_one())


def _page(client: Any, path: str) -> str:
    return str(client.get(path).get_data(as_text=True))


def test_resolutions_and_contracts_through_the_api(as_user: Any, make_client: Any) -> None:
    acct = as_user("dy_baozhang")
    bad = acct.post("/resolutions", data={**resolution_form(), "expected": "40", "present": "41"}, content_type=MP)
    assert bad.status_code == 422 and "实到人数（41）不能多于应到人数（40）" in bad.get_json()["errors"][0]["detail"]
    assert [e["field"] for e in bad.get_json()["errors"]] == ["present"]
    assert count(Resolution) == 0
    kind = acct.post("/resolutions", data={**resolution_form(), "matter_kind": "party"}, content_type=MP)
    assert kind.status_code == 422 and [e["field"] for e in kind.get_json()["errors"]] == ["matter_kind"]
    assert acct.post("/resolutions", data={k: v for k, v in resolution_form().items() if k != "publicity"},
                     content_type=MP).status_code == 422
    made = acct.post("/resolutions", data={**resolution_form(), "amount": "80000"}, content_type=MP)
    assert made.status_code == 201, made.get_json()
    res = made.get_json()
    assert res["files"] == ["minutes", "publicity"] and res["amount"] == "80000.00" and res["remaining"] == "80000.00"
    assert made.headers["Location"].endswith(f"/api/v1/resolutions/{res['id']}")
    assert [r["id"] for r in acct.get("/resolutions").get_json()["items"]] == [res["id"]]
    minutes = acct.get(f"/resolutions/{res['id']}/files/minutes")
    assert minutes.status_code == 200 and minutes.mimetype == "image/jpeg"
    assert acct.get(f"/resolutions/{res['id']}/files/result").status_code == 404
    assert acct.get(f"/resolutions/{res['id']}/files/other").status_code == 404
    # who reads 东岳村's requests reads it; another village's accountant and another township do not
    assert as_user("dy_shuji").get(f"/resolutions/{res['id']}").get_json() == acct.get(
        f"/resolutions/{res['id']}").get_json()
    for who in ("xy_baozhang", "mk_shenhe"):
        assert as_user(who).get(f"/resolutions/{res['id']}").status_code == 404
        assert as_user(who).get(f"/resolutions/{res['id']}/files/minutes").status_code == 404
    # the records page is the accountant's: others get a 404 for the list, a 403 for recording
    assert as_user("yc_lianqing").get("/resolutions").status_code == 404
    assert as_user("yc_lianqing").post("/resolutions", data=resolution_form(), content_type=MP).status_code == 403
    assert acct.get("/resolutions?village_id=" + str(f.unit("HL-YC-02").id)).status_code == 422
    # the 结果公开 photo: the accountant adds it, the village lead may not
    assert as_user("dy_shuji").post(f"/resolutions/{res['id']}/result", data={
        "result": (io.BytesIO(_photo()), "r.jpg")}, content_type=MP).status_code == 403
    done = acct.post(f"/resolutions/{res['id']}/result", data={"result": (io.BytesIO(_photo()), "r.jpg")},
                     content_type=MP)
    assert done.status_code == 200 and done.get_json()["files"] == ["minutes", "publicity", "result"]
    # contracts under it may not add up to more than it; nothing saved when refused
    over = acct.post("/contracts", data={**contract_form(), "amount": "90000", "resolution_id": str(res["id"])},
                     content_type=MP)
    assert over.status_code == 422 and over.get_json()["errors"][0]["field"] == "amount"
    assert acct.get("/contracts").get_json()["items"] == []
    made = acct.post("/contracts", data={**contract_form(), "amount": "50000", "resolution_id": str(res["id"])},
                     content_type=MP)
    assert made.status_code == 201, made.get_json()
    contract = made.get_json()
    assert contract["resolution_id"] == res["id"] and contract["unpaid"] == "50000.00"
    assert acct.get(f"/resolutions/{res['id']}").get_json()["contract_ids"] == [contract["id"]]
    assert acct.get(f"/contracts/{contract['id']}/file").status_code == 200
    assert as_user("mk_baozhang").get(f"/contracts/{contract['id']}").status_code == 404
    assert as_user("yc_shenhe").post("/contracts", data=contract_form(), content_type=MP).status_code == 403
    # the page lists what the API lists
    page = make_client()
    page.login("dy_baozhang")
    listing = _page(page, "/controls/")
    assert res["matter"] in listing and contract["title"] in listing


def test_a_requests_link_and_originals_through_the_api(as_user: Any) -> None:
    rid = resolution_id()
    req = f.in_state(State.DRAFT)
    acct = as_user("dy_baozhang")
    bad = acct.put(f"/requests/{req.id}/link", {"resolution_id": rid, "payee_id_number": "123"})
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "payee_id_number"
    assert count(RequestControl) == 0
    assert acct.put(f"/requests/{req.id}/link", {"instalment": "final"}).status_code == 422  # no contract
    ok = acct.put(f"/requests/{req.id}/link", {"resolution_id": rid, "payee_id_number": "11010519491231002X"})
    assert ok.status_code == 200 and ok.get_json()["resolution_id"] == rid
    assert ok.get_json()["payee_id_number"] == "11010519491231002X"
    # the village lead sees the link as the request page's panel shows it: without the 身份证号
    seen = as_user("dy_shuji").get(f"/requests/{req.id}/link").get_json()
    assert seen["resolution_id"] == rid and seen["payee_id_number"] is None
    assert as_user("dy_shuji").put(f"/requests/{req.id}/link", {}).status_code == 403
    assert as_user("mk_baozhang").put(f"/requests/{req.id}/link", {}).status_code == 404
    assert as_user("mk_baozhang").get(f"/requests/{req.id}/link").status_code == 404
    db.session.refresh(req)
    assert db.session.execute(select(RequestControl.resolution_id)).scalar_one() == rid
    # a submitted request is no longer typed into
    pending = f.in_state(State.PENDING, payee_name="另一收款人", payee_account="6228480000000077777")
    assert acct.put(f"/requests/{pending.id}/link", {"resolution_id": rid}).status_code == 422
    # 原件已收: the agency's reviewer, on an approved request; said twice, it stays the first
    approved = f.in_state(State.APPROVED, payee_name="第三收款人", payee_account="6228480000000088888")
    assert as_user("yc_chuna").post(f"/requests/{approved.id}/originals").status_code == 403
    assert as_user("mk_shenhe").post(f"/requests/{approved.id}/originals").status_code == 404
    early = as_user("yc_shenhe").post(f"/requests/{pending.id}/originals")
    assert early.status_code == 422 and early.get_json()["errors"][0]["field"] == "originals"
    first = as_user("yc_shenhe").post(f"/requests/{approved.id}/originals")
    assert first.status_code == 200 and first.get_json()["received_by"]["name"] == f.user("yc_shenhe").display_name
    again = as_user("yc_shenhe").post(f"/requests/{approved.id}/originals").get_json()
    assert again["received_at"] == first.get_json()["received_at"] and count(OriginalsReceipt) == 1


def test_the_register_through_the_api(as_user: Any, make_client: Any) -> None:
    admin = as_user("hl_admin")
    wang = f.user("dy_shuji")
    register = admin.get("/townships/HL-YC/register").get_json()
    units = {u["unit"]["code"]: u for u in register["units"]}
    assert wang.id in [o["id"] for o in units["HL-YC-01"]["officials"]]
    for who in ("dy_baozhang", "yc_shenhe", "yc_lianqing"):
        assert as_user(who).get("/townships/HL-YC/register").status_code == 404
        assert as_user(who).get(f"/officials/{wang.id}/register").status_code == 404
    assert admin.get("/townships/HL-YC-01/register").status_code == 404  # a village is not a township
    assert admin.get("/townships/NOWHERE/register").status_code == 404
    bad = admin.post(f"/officials/{wang.id}/register", {"name": "王小明", "relation": "child",
                                                        "id_number": "410902199001011230"})
    assert bad.status_code == 422 and "身份证号校验位不正确" in bad.get_json()["errors"][0]["detail"]
    assert admin.post(f"/officials/{wang.id}/register", {"name": "王小明", "relation": "child"}).status_code == 422
    assert count(RelatedPerson) == 0
    made = admin.post(f"/officials/{wang.id}/register", {"name": "王小明", "relation": "child",
                                                         "accounts": ["6228 4800 1234 0000 111"]})
    assert made.status_code == 201 and made.get_json()["accounts"] == ["6228480012340000111"]
    person = made.get_json()["id"]
    own = admin.put(f"/officials/{wang.id}/identity", {"accounts": ["6228480099990000"]})
    assert own.status_code == 200 and own.get_json()["relation"] == "self"
    mine = admin.get(f"/officials/{wang.id}/register").get_json()
    assert mine["own"]["accounts"] == ["6228480099990000"] and [p["id"] for p in mine["relatives"]] == [person]
    edited = admin.put(f"/related-people/{person}", {"name": "王小明", "relation": "child", "note": "长子",
                                                     "accounts": ["6228480012340000111"]})
    assert edited.status_code == 200 and [h["action"] for h in edited.get_json()["history"]] == [
        "register_add", "register_update"]
    assert as_user("yc_lianqing").post(f"/related-people/{person}/remove", {"reason": "x"}).status_code == 404
    removed = admin.post(f"/related-people/{person}/remove", {"reason": "登记错误"})
    assert removed.status_code == 200 and removed.get_json()["active"] is False
    lines = {o["id"]: o["lines"] for u in admin.get("/townships/HL-YC/register").get_json()["units"]
             for o in u["officials"]}
    assert [line["relation"] for line in lines[wang.id]] == ["self"]
    # the page shows the same
    page = make_client()
    page.login("hl_admin")
    text = _page(page, f"/controls/officials/{wang.id}/register")
    assert "王小明" in text and "已移除" in text and "6228480099990000" in text


def test_the_negative_list_and_the_control_policy_through_the_api(as_user: Any, make_client: Any) -> None:
    admin = as_user("hl_admin")
    assert admin.post("/townships/HL-YC/negative-list", {"item": "", "action": "refuse"}).status_code == 422
    assert count(NegativeItem) == 0
    made = admin.post("/townships/HL-YC/negative-list", {"item": "烟酒", "keywords": ["烟酒", "香烟"],
                                                         "action": "refuse"})
    assert made.status_code == 201 and made.get_json()["keywords"] == ["烟酒", "香烟"]
    listed = admin.get("/townships/HL-YC/negative-list").get_json()["items"]
    assert [i["item"] for i in listed] == ["烟酒"] and listed[0]["action_label"] == "禁止"
    assert admin.get("/townships/HL-MK/negative-list").get_json()["items"] == []
    assert as_user("yc_lianqing").get("/townships/HL-YC/negative-list").status_code == 404
    item = made.get_json()["id"]
    assert as_user("dy_baozhang").delete(f"/negative-items/{item}").status_code == 404
    assert admin.delete(f"/negative-items/{item}").status_code == 204
    assert admin.get("/townships/HL-YC/negative-list").get_json()["items"] == []
    # the control policy: the defaults, a refused version, a new version, the same again
    policy = admin.get("/townships/HL-YC/control-policy").get_json()
    assert policy["version"] is None and policy["window_days"] == 30 and policy["quorum"] == "2/3"
    body = {k: policy[k] for k in ("window_days", "quorum", "committee_village_supervisor", "committee_village_lead",
                                   "salary_subjects", "image_distance", "originals_before_payment")}
    bad = admin.put("/townships/HL-YC/control-policy", {**body, "image_distance": 40, "committee_village_lead": 10})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.get_json()["errors"]} == {"image_distance", "committee_village_lead"}
    assert count(ControlPolicy) == 0
    assert as_user("yc_shenhe").put("/townships/HL-YC/control-policy", body).status_code == 404
    same = admin.put("/townships/HL-YC/control-policy", body).get_json()
    assert same["changed"] is False and same["version"] is None
    new = admin.put("/townships/HL-YC/control-policy", {**body, "committee_village_supervisor": 2,
                                                        "originals_before_payment": True}).get_json()
    assert new["changed"] is True and new["version"] == 1 and new["committee_village_supervisor"] == 2
    assert admin.get("/townships/HL-YC/control-policy").get_json()["originals_before_payment"] is True
    page = make_client()
    page.login("hl_admin")
    assert "第 1 版" in _page(page, f"/controls/townships/{f.unit('HL-YC').id}/policy")


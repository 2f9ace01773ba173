"""The oversight side of /api/v1 (docs/api.md): holds on a payment, the district page's figures, a township's
flag thresholds, delegations and notice settings; the same scope, services and answers as the pages."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

import audit
from finance.delegations.models import Delegation
from finance.extensions import db
from finance.flags import services as flag_services
from finance.notices.models import DeliveryState, NoticeDelivery, NoticePolicy, NoticeSetting
from finance.oversight import services as oversight
from finance.oversight.models import PaymentHold
from finance.timefmt import today_local
from finance.workflow import State
from tests import factories as f
from tests.api.scenarios_oversight import _failed_delivery, _req, delegation_body


def _events(action: str) -> int:
    return int(db.session.execute(select(func.count(audit.Event.id)).where(audit.Event.action == action))
               .scalar_one())


def _holds() -> int:
    return int(db.session.execute(select(func.count(PaymentHold.id))).scalar_one())


# --- 暂缓支付 ------------------------------------------------------------------------------------------------

def test_a_liaison_holds_a_payment_and_lifts_it_through_the_api(as_user: Any) -> None:
    req = _req(State.APPROVED)
    question = oversight.ask_question(f.user("yc_lianqing"), req, "请说明。", today_local() + timedelta(days=3))
    db.session.commit()
    liaison = as_user("yc_lianqing")
    held = liaison.post(f"/requests/{req.id}/hold", {"reason": "先核实收款人"})
    assert held.status_code == 200, held.get_json()
    hold = held.get_json()
    # as the page: held until the request's open question is answered
    assert hold["request_id"] == req.id and hold["question_id"] == question.id and hold["lifted_at"] is None
    assert as_user("dy_shuji").get(f"/requests/{req.id}/flags").get_json()["hold"]["id"] == hold["id"]
    assert liaison.post(f"/requests/{req.id}/hold", {"reason": "再来"}).status_code == 409
    lifted = liaison.post(f"/holds/{hold['id']}/lift", {"reason": "已核实无误"})
    assert lifted.status_code == 200 and lifted.get_json()["lift_reason"] == "已核实无误"
    assert lifted.get_json()["lifted_at"] is not None
    assert liaison.post(f"/holds/{hold['id']}/lift", {"reason": "再解除"}).status_code == 409
    assert _events("payment_hold") == 1 and _events("payment_hold_lift") == 1


def test_a_hold_is_refused_outside_the_liaison_s_scope_and_on_bad_input(as_user: Any) -> None:
    req = _req(State.APPROVED)
    before = _holds()
    assert as_user("mk_lianqing").post(f"/requests/{req.id}/hold", {"reason": "x"}).status_code == 404
    assert as_user("dy_shuji").post(f"/requests/{req.id}/hold", {"reason": "x"}).status_code == 404  # as the page
    blank = as_user("yc_lianqing").post(f"/requests/{req.id}/hold", {"reason": "   "})
    assert blank.status_code == 422 and [e["field"] for e in blank.get_json()["errors"]] == ["reason"]
    other = _req(State.PENDING)
    q = oversight.ask_question(f.user("yc_lianqing"), other, "?", today_local() + timedelta(days=3))
    db.session.commit()
    wrong = as_user("yc_lianqing").post(f"/requests/{req.id}/hold", {"reason": "x", "question_id": q.id})
    assert wrong.status_code == 422 and [e["field"] for e in wrong.get_json()["errors"]] == ["question_id"]
    paid = as_user("yc_lianqing").post(f"/requests/{_req(State.PAID).id}/hold", {"reason": "x"})
    assert paid.status_code == 409
    assert _holds() == before


def test_a_hold_made_on_the_page_is_lifted_through_the_api(as_user: Any, make_client: Any) -> None:
    req = _req(State.APPROVED)
    page = make_client()
    page.login("yc_lianqing")
    assert page.post(f"/oversight/flags/requests/{req.id}/hold", data={"hold_reason": "页面暂缓"}).status_code == 303
    hold = db.session.execute(select(PaymentHold).where(PaymentHold.request_id == req.id)).scalar_one()
    seen = as_user("yc_lianqing").get(f"/requests/{req.id}/flags").get_json()["hold"]
    assert seen["id"] == hold.id and seen["reason"] == "页面暂缓"
    assert as_user("mk_lianqing").post(f"/holds/{hold.id}/lift", {"reason": "x"}).status_code == 404
    assert as_user("yc_lianqing").post(f"/holds/{hold.id}/lift", {"reason": "已核实"}).status_code == 200


# --- 提级监督 ------------------------------------------------------------------------------------------------

def test_the_district_figures_are_the_page_s(as_user: Any, make_client: Any) -> None:
    _req(State.PENDING)
    _req(State.APPROVED)
    answer = as_user("hl_admin").get("/district")
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["district"]["code"] == "HL"
    rows = {t["township"]["code"]: t for t in body["townships"]}
    assert set(rows) == {"HL-YC", "HL-MK"}
    from finance.flags import district

    report = {r.township.code: r for r in district.report(f.unit("HL"))}
    for code, row in report.items():
        assert rows[code]["backlog"] == row.backlog and rows[code]["flags"] == row.flags
        assert [(m["month"], m["requests"], m["amount"]) for m in rows[code]["months"]] == [
            (m, n, f"{a:.2f}") for m, n, a in row.months]
    assert rows["HL-YC"]["backlog"] >= 2
    for who in ("yc_lianqing", "yc_zhenzhang", "dy_baozhang"):
        assert as_user(who).get("/district").status_code == 404
    page = make_client()
    page.login("yc_lianqing")
    assert page.get("/oversight/flags/district").status_code == 404  # the page says the same


def test_a_district_liaison_reads_the_district(as_user: Any, make_client: Any) -> None:
    from finance.auth import services as accounts
    from finance.roles import Role

    accounts.assign_role(f.user("mk_lianqing"), Role.LIAISON, f.unit("HL"))
    db.session.commit()
    answer = as_user("mk_lianqing").get("/district")
    assert answer.status_code == 200 and answer.get_json()["district"]["code"] == "HL"
    page = make_client()
    page.login("mk_lianqing")
    assert page.get("/oversight/flags/district").status_code == 200
    assert as_user("mk_lianqing").put("/townships/HL-YC/flag-policy",
                                      {"thresholds": {"fast_seconds": 5}}).status_code == 403


# --- thresholds ------------------------------------------------------------------------------------------------

def test_the_admin_publishes_thresholds_and_liaisons_read_them(as_user: Any) -> None:
    admin, liaison = as_user("hl_admin"), as_user("yc_lianqing")
    first = liaison.get("/townships/HL-YC/flag-policy").get_json()
    assert first["version"] is None and all(t["is_default"] for t in first["thresholds"])
    put = admin.put("/townships/HL-YC/flag-policy",
                    {"thresholds": {"split_window_days": 20, "under_band_margin": "0.05",
                                    "emergency_words": ["防汛", "抢险"]}})
    assert put.status_code == 200, put.get_json()
    body = {t["name"]: t for t in put.get_json()["thresholds"]}
    assert put.get_json()["version"] == 1
    assert body["split_window_days"] == {"name": "split_window_days", "value": 20, "default": 30,
                                         "is_default": False}
    assert body["under_band_margin"]["value"] == "0.05" and body["emergency_words"]["value"] == ["防汛", "抢险"]
    assert body["night_start"]["is_default"]
    rules = flag_services.current_rules(f.unit("HL-YC"))
    assert rules.split_window_days == 20 and rules.emergency_words == ("防汛", "抢险")
    assert flag_services.current_rules(f.unit("HL-MK")).split_window_days == 30
    event = db.session.execute(select(audit.Event).where(audit.Event.action == "flag_policy_publish")
                               .order_by(audit.Event.id.desc())).scalars().first()
    assert event is not None and json.loads(event.after)["rules"]["split_window_days"] == 20
    assert json.loads(event.before)["rules"]["split_window_days"] == 30
    assert liaison.get("/townships/HL-YC/flag-policy").get_json()["version"] == 1


def test_thresholds_are_refused_to_others_and_on_bad_input(as_user: Any) -> None:
    before = _events("flag_policy_publish")
    assert as_user("yc_lianqing").put("/townships/HL-YC/flag-policy",
                                      {"thresholds": {"fast_seconds": 5}}).status_code == 403
    assert as_user("mk_lianqing").get("/townships/HL-YC/flag-policy").status_code == 404
    assert as_user("dy_baozhang").get("/townships/HL-YC/flag-policy").status_code == 404
    assert as_user("hl_admin").get("/townships/HL-YC-01/flag-policy").status_code == 404  # a village
    bad = as_user("hl_admin").put("/townships/HL-YC/flag-policy",
                                  {"thresholds": {"fast_seconds": "abc", "night_start": -1, "nonsense": 1}})
    assert bad.status_code == 422
    assert [e["field"] for e in bad.get_json()["errors"]] == ["thresholds.nonsense"]
    bad = as_user("hl_admin").put("/townships/HL-YC/flag-policy",
                                  {"thresholds": {"fast_seconds": "abc", "night_start": -1}})
    assert bad.status_code == 422
    assert sorted(e["field"] for e in bad.get_json()["errors"]) == ["thresholds.fast_seconds",
                                                                    "thresholds.night_start"]
    assert _events("flag_policy_publish") == before
    assert flag_services.current_policy(f.unit("HL-YC")) is None


def test_the_command_line_publishes_through_the_same_service(app: Any, db: Any) -> None:
    from finance.flags.cli import flags_cli

    before = _events("flag_policy_publish")
    result = app.test_cli_runner().invoke(flags_cli, ["policy", "HL-MK", "night_start=23", "negative_words=烟酒,礼品"])
    assert result.exit_code == 0, result.output
    rules = flag_services.current_rules(f.unit("HL-MK"))
    assert rules.night_start == 23 and rules.negative_words == ("烟酒", "礼品")
    assert _events("flag_policy_publish") == before + 1
    bad = app.test_cli_runner().invoke(flags_cli, ["policy", "HL-MK", "night_start=late"])
    assert bad.exit_code != 0 and "night_start" in bad.output


# --- delegations ------------------------------------------------------------------------------------------------

def test_delegations_are_named_listed_and_ended_through_the_api(as_user: Any) -> None:
    principal = as_user("dy_shuji")
    mine = principal.get("/delegations").get_json()
    assert [r["role"] for r in mine["roles"]] == ["village_lead"]
    assert f.user("xy_shuji").id in {p["id"] for p in mine["colleagues"]}
    assert f.user("yc_lianqing").id not in {p["id"] for p in mine["colleagues"]}  # no liaison to choose
    made = principal.post("/delegations", delegation_body(0))
    assert made.status_code == 201, made.get_json()
    d = made.get_json()
    assert made.headers["Location"].endswith(f"/api/v1/delegations/{d['id']}")
    assert d["delegate"]["name"] == "陈志强" and d["active"] and d["may_end"]
    received = as_user("xy_shuji").get("/delegations").get_json()
    assert [x["id"] for x in received["received"]] == [d["id"]] and received["given"] == []
    assert as_user("xy_shuji").get(f"/delegations/{d['id']}").get_json()["may_end"] is False
    assert as_user("mk_shuji").get(f"/delegations/{d['id']}").status_code == 404
    assert as_user("xy_shuji").post(f"/delegations/{d['id']}/end").status_code == 404  # only the principal
    admin = as_user("hl_admin").get("/delegations/admin").get_json()
    assert d["id"] in [x["id"] for x in admin["items"]]
    ended = principal.post(f"/delegations/{d['id']}/end")
    assert ended.status_code == 200 and ended.get_json()["ended_at"] is not None
    assert not ended.get_json()["active"]
    assert principal.post(f"/delegations/{d['id']}/end").status_code == 200  # over already: nothing changes
    assert _events("delegation_create") == 1 and _events("delegation_end") == 1


def test_a_delegation_is_refused_as_the_page_refuses_it(as_user: Any) -> None:
    count = db.session.execute(select(func.count(Delegation.id))).scalar_one()
    assert as_user("yc_lianqing").post("/delegations", delegation_body(0)).status_code == 403
    assert as_user("dy_baozhang").post("/delegations", delegation_body(0)).status_code == 403
    body = {**delegation_body(0), "delegate": f.user("yc_lianqing").id, "villages": [f.unit("HL-MK-01").id]}
    bad = as_user("dy_shuji").post("/delegations", body)
    assert bad.status_code == 422
    assert sorted(e["field"] for e in bad.get_json()["errors"]) == ["delegate", "villages"]
    late = as_user("dy_shuji").post("/delegations", delegation_body(-1))
    assert late.status_code == 422 and [e["field"] for e in late.get_json()["errors"]] == ["starts_on"]
    assert as_user("dy_shuji").post("/delegations", delegation_body(10)).status_code == 201
    overlap = as_user("dy_shuji").post("/delegations", delegation_body(11))
    assert overlap.status_code == 422 and [e["field"] for e in overlap.get_json()["errors"]] == ["villages"]
    assert db.session.execute(select(func.count(Delegation.id))).scalar_one() == count + 1
    assert as_user("dy_shuji").get("/delegations/admin").status_code == 404


# --- notices --------------------------------------------------------------------------------------------------

def test_a_person_reads_and_saves_their_notice_settings(as_user: Any, make_client: Any) -> None:
    me = as_user("dy_shuji")
    first = me.get("/account/notices").get_json()
    assert first["saved"] is False and first["quiet_on"] is False
    saved = me.put("/account/notices", {"email_on": True, "email": "wjg@example.cn", "quiet_on": True,
                                         "quiet_start": "21:30", "quiet_end": "07:00"})
    assert saved.status_code == 200, saved.get_json()
    body = saved.get_json()
    assert body["channels"] == ["email"] and body["saved"] and body["quiet_start"] == "21:30"
    setting = db.session.get(NoticeSetting, f.user("dy_shuji").id)
    assert setting is not None and setting.email == "wjg@example.cn" and setting.sms_on is False
    page = make_client()
    page.login("dy_shuji")
    assert 'value="wjg@example.cn"' in page.get("/notices/settings").get_data(as_text=True)
    bad = me.put("/account/notices", {"sms_on": True, "mobile": "123", "quiet_on": True, "quiet_start": "25:00"})
    assert bad.status_code == 422
    assert sorted(e["field"] for e in bad.get_json()["errors"]) == ["mobile", "quiet_start"]
    db.session.refresh(setting)
    assert setting.email == "wjg@example.cn" and _events("notice_settings") == 1


def test_the_admin_sees_failed_deliveries_retries_one_and_sets_a_policy(as_user: Any) -> None:
    delivery_id = _failed_delivery()
    admin = as_user("hl_admin")
    listed = admin.get("/notices/deliveries").get_json()
    assert delivery_id in [d["id"] for d in listed["failures"]] and listed["counts"]["failed"] >= 1
    assert listed["failures"][0]["last_error"] == "HTTP 400 bad number"
    for who in ("yc_lianqing", "dy_shuji"):
        assert as_user(who).get("/notices/deliveries").status_code == 404
        assert as_user(who).post(f"/notices/deliveries/{delivery_id}/retry").status_code == 404
        assert as_user(who).put("/townships/HL-YC/notice-policy",
                                {"remind_after": 2, "escalate_after": 4}).status_code == 404
    retried = admin.post(f"/notices/deliveries/{delivery_id}/retry")
    assert retried.status_code == 200 and retried.get_json()["state"] == "pending"
    assert db.session.get(NoticeDelivery, delivery_id).state == DeliveryState.PENDING  # type: ignore[union-attr]
    assert admin.post(f"/notices/deliveries/{delivery_id}/retry").status_code == 404  # not failed any more
    policies = {p["township"]["code"]: p for p in admin.get("/notices/policies").get_json()["items"]}
    assert set(policies) == {"HL-YC", "HL-MK"}
    bad = admin.put("/townships/HL-YC/notice-policy", {"remind_after": 5, "escalate_after": 3})
    assert bad.status_code == 422 and [e["field"] for e in bad.get_json()["errors"]] == ["escalate_after"]
    assert db.session.get(NoticePolicy, f.unit("HL-YC").id) is None
    put = admin.put("/townships/HL-YC/notice-policy", {"remind_after": 2, "escalate_after": 4})
    assert put.status_code == 200 and put.get_json()["remind_after"] == 2
    after = {p["township"]["code"]: p for p in admin.get("/notices/policies").get_json()["items"]}
    assert (after["HL-YC"]["remind_after"], after["HL-YC"]["escalate_after"]) == (2, 4)
    assert after["HL-MK"] == policies["HL-MK"]
    assert admin.put("/townships/HL-YC-01/notice-policy", {"remind_after": 2, "escalate_after": 4}).status_code == 404

"""The flags through /api/v1 (docs/api.md): the liaison's list, a flag with its evidence, the two
dispositions, a request's open flags; the same scope and services as the pages."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from finance.extensions import db
from finance.flags.models import FlagStatus, RiskFlag
from finance.workflow import State
from tests import factories as f


def _flagged() -> tuple[Any, RiskFlag]:
    req = f.in_state(State.PENDING, "9880.00", payee_name="收款人甲", payee_account="6222020000000030001")
    flag = db.session.execute(select(RiskFlag).where(RiskFlag.key == f"just_under_band:{req.id}")).scalar_one()
    return req, flag


def test_flags_list_evidence_and_dispositions_through_the_api(as_user: Any) -> None:
    req, flag = _flagged()
    liaison = as_user("yc_lianqing")
    listed = liaison.get("/flags").get_json()
    assert [x["id"] for x in listed["items"]] == [flag.id] and listed["items"][0]["type"] == "just_under_band"
    detail = liaison.get(f"/flags/{flag.id}").get_json()
    assert detail["requests"] == [req.number] and detail["history"][0]["action"] == "flag_raise"
    assert as_user("mk_lianqing").get(f"/flags/{flag.id}").status_code == 404  # another township
    assert as_user("mk_lianqing").get("/flags").get_json()["items"] == []
    asked = liaison.post(f"/flags/{flag.id}/ask", {"text": "请说明。",
                                                   "deadline": (date.today() + timedelta(days=5)).isoformat()})
    assert asked.status_code == 200 and asked.get_json()["status"] == "asked"
    assert liaison.post(f"/flags/{flag.id}/clear", {"reason": "x"}).status_code == 409
    db.session.refresh(flag)
    assert flag.status == FlagStatus.ASKED
    seen = as_user("dy_shuji").get(f"/requests/{req.id}/flags").get_json()
    assert [x["id"] for x in seen["items"]] == [flag.id]
    assert as_user("dy_baozhang").get(f"/requests/{req.id}/flags").get_json()["items"] == []  # not the requester

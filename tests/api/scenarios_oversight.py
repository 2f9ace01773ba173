"""Scenarios of the oversight side of /api/v1 for tests/api/test_statuses.py: holds on a payment, the district
page, the flag thresholds, delegations and notice settings. Each (endpoint, status) -> the request that gets
exactly that answer."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from finance.extensions import db
from finance.roles import Role
from finance.timefmt import today_local
from finance.workflow import State
from tests import factories as f
from tests.api.conftest import ApiClient

As = Callable[[str], ApiClient]
_n = itertools.count(1)


def _req(state: State) -> Any:
    """A request in `state`, to a payee of its own (so no band or flag of another scenario touches it)."""
    n = uuid.uuid4().int % 10**10
    return f.in_state(state, payee_name=f"濮阳市华龙区第{n}农机合作社", payee_account=f"62170000{n:011d}")


def _hold() -> int:
    from finance.oversight import services as oversight

    hold = oversight.hold_payment(f.user("yc_lianqing"), _req(State.APPROVED), "先核实收款人")
    db.session.commit()
    return int(hold.id)


def _lifted() -> int:
    from finance.oversight import services as oversight
    from finance.oversight.models import PaymentHold

    hold_id = _hold()
    hold = db.session.get(PaymentHold, hold_id)
    assert hold is not None
    oversight.lift_hold(f.user("yc_lianqing"), hold, "已核实")
    db.session.commit()
    return hold_id


def _held_request() -> int:
    from finance.oversight.models import PaymentHold

    hold = db.session.get(PaymentHold, _hold())
    assert hold is not None
    return int(hold.request_id)


def _delegation() -> int:
    """dy_shuji names xy_shuji for 东岳村, in a period of its own (two never overlap)."""
    from finance.delegations import services as delegations

    start = today_local() + timedelta(days=5 * next(_n))
    d = delegations.create(f.user("dy_shuji"), delegations.DelegationInput(
        role=Role.VILLAGE_LEAD.value, delegate_id=f.user("xy_shuji").id, village_ids=[f.unit("HL-YC-01").id],
        starts_on=start, ends_on=start + timedelta(days=2)))
    db.session.commit()
    return int(d.id)


def delegation_body(days: int) -> dict[str, Any]:
    start = date.today() + timedelta(days=days)
    return {"role": "village_lead", "delegate": f.user("xy_shuji").id, "villages": [f.unit("HL-YC-01").id],
            "starts_on": start.isoformat(), "ends_on": (start + timedelta(days=2)).isoformat()}


def _failed_delivery() -> int:
    from sqlalchemy import select

    from finance.notices import services as notices
    from finance.notices.models import DeliveryState, NoticeDelivery

    notices.save_settings(f.user("dy_shuji"), notices.SettingsInput(sms_on=True, mobile="13900000001"))
    _req(State.PENDING)
    delivery = db.session.execute(select(NoticeDelivery).where(NoticeDelivery.state != DeliveryState.FAILED)
                                  .order_by(NoticeDelivery.id.desc())).scalars().first()
    assert delivery is not None
    delivery.state, delivery.last_error = DeliveryState.FAILED, "HTTP 400 bad number"
    db.session.commit()
    return int(delivery.id)


SETTINGS = {"sms_on": True, "mobile": "13900000002", "quiet_on": True, "quiet_start": "22:00", "quiet_end": "07:00"}

SCENARIOS: dict[tuple[str, int], Callable[[As], Any]] = {
    ("hold_request", 200): lambda as_: as_("yc_lianqing").post(f"/requests/{_req(State.APPROVED).id}/hold",
                                                               {"reason": "先核实收款人"}),
    ("hold_request", 409): lambda as_: as_("yc_lianqing").post(f"/requests/{_held_request()}/hold",
                                                               {"reason": "再暂缓"}),
    ("lift_hold", 200): lambda as_: as_("yc_lianqing").post(f"/holds/{_hold()}/lift", {"reason": "已核实"}),
    ("lift_hold", 409): lambda as_: as_("yc_lianqing").post(f"/holds/{_lifted()}/lift", {"reason": "再解除"}),
    ("district_report", 200): lambda as_: as_("hl_admin").get("/district"),
    ("district_report", 404): lambda as_: as_("yc_lianqing").get("/district"),
    ("get_flag_policy", 200): lambda as_: as_("yc_lianqing").get("/townships/HL-YC/flag-policy"),
    ("set_flag_policy", 200): lambda as_: as_("hl_admin").put("/townships/HL-YC/flag-policy",
                                                              {"thresholds": {"fast_seconds": 90}}),
    ("set_flag_policy", 403): lambda as_: as_("yc_lianqing").put("/townships/HL-YC/flag-policy",
                                                                 {"thresholds": {"fast_seconds": 90}}),
    ("set_flag_policy", 404): lambda as_: as_("mk_lianqing").put("/townships/HL-YC/flag-policy",
                                                                 {"thresholds": {"fast_seconds": 90}}),
    ("my_delegations", 200): lambda as_: as_("dy_shuji").get("/delegations"),
    ("create_delegation", 201): lambda as_: as_("dy_shuji").post("/delegations", delegation_body(400)),
    ("create_delegation", 403): lambda as_: as_("yc_lianqing").post("/delegations", delegation_body(400)),
    ("get_delegation", 200): lambda as_: as_("xy_shuji").get(f"/delegations/{_delegation()}"),
    ("end_delegation", 200): lambda as_: as_("dy_shuji").post(f"/delegations/{_delegation()}/end"),
    ("admin_delegations", 200): lambda as_: as_("hl_admin").get("/delegations/admin"),
    ("admin_delegations", 404): lambda as_: as_("dy_shuji").get("/delegations/admin"),
    ("my_notice_settings", 200): lambda as_: as_("dy_shuji").get("/account/notices"),
    ("save_notice_settings", 200): lambda as_: as_("dy_shuji").put("/account/notices", SETTINGS),
    ("failed_deliveries", 200): lambda as_: as_("hl_admin").get("/notices/deliveries"),
    ("failed_deliveries", 404): lambda as_: as_("yc_lianqing").get("/notices/deliveries"),
    ("retry_delivery", 200): lambda as_: as_("hl_admin").post(f"/notices/deliveries/{_failed_delivery()}/retry"),
    ("notice_policies", 200): lambda as_: as_("hl_admin").get("/notices/policies"),
    ("notice_policies", 404): lambda as_: as_("yc_zhenzhang").get("/notices/policies"),
    ("set_notice_policy", 200): lambda as_: as_("hl_admin").put("/townships/HL-YC/notice-policy",
                                                                {"remind_after": 3, "escalate_after": 6}),
    ("set_notice_policy", 404): lambda as_: as_("hl_admin").put("/townships/NOWHERE/notice-policy",
                                                                {"remind_after": 3, "escalate_after": 6}),
}
SHARED_AS = {"hold_id": "yc_lianqing", "hold_request": "yc_lianqing", "delegation_id": "dy_shuji",
             "delivery_id": "hl_admin", "code": "hl_admin"}

"""The statuses of the admin endpoints (finance/orgs/api.py) for tests/api/test_statuses.py: each documented
status reached by a request of its own. Each scenario that changes a person works on a new one (the demo
people keep their accounts for the other scenarios); the routing policy is sent unchanged (a new version
would change how later scenarios' requests are routed)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from finance.approval_policy.rules import DEFAULT_RULES
from finance.auth.models import User
from tests import factories as f
from tests.api.conftest import ApiClient

Scenario = Callable[[Callable[[str], ApiClient]], Any]
PASSWORD = "Qz7-lantern-orchard"
_n = itertools.count(1)


def _person(*roles: tuple[Any, str], invited: bool = False) -> int:
    """A new person holding `roles` ((Role, unit code) ...) in the demo district."""
    from finance.auth import services as accounts
    from finance.roles import Role

    roles = roles or ((Role.VILLAGE_SUPERVISOR, "HL-MK-02"),)
    name = f"scenario_admin_{next(_n)}"
    if invited:
        user = accounts.create_invited_user(username=name, display_name="待激活")
        for role, code in roles:
            accounts.assign_role(user, role, f.unit(code))
    else:
        first, *rest = roles
        user = accounts.create_user(username=name, display_name="测试人", password=PASSWORD, role=first[0],
                                    org_unit=f.unit(first[1]))
        for role, code in rest:
            accounts.assign_role(user, role, f.unit(code))
    f.db.session.commit()
    return int(user.id)


def _two_roles() -> tuple[int, int]:
    from finance.roles import Role

    user_id = _person((Role.VILLAGE_SUPERVISOR, "HL-MK-02"), (Role.LIAISON, "HL-MK"))
    return user_id, f.db.session.get(User, user_id).assignments[-1].id


def _rules(**extra: Any) -> dict[str, Any]:
    """The default rules (HL-MK's), as a PUT body: sending them publishes nothing."""
    steps = [{"role": s.role.value, **({"min_amount": str(s.min_amount)} if s.min_amount is not None else {}),
              "subjects": list(s.subjects)} for s in DEFAULT_RULES.steps]
    attachments = [{"kind": a.kind, **({"min_amount": str(a.min_amount)} if a.min_amount else {}),
                    "subjects": list(a.subjects)} for a in DEFAULT_RULES.attachments]
    return {"steps": steps, "attachments": attachments, "major_threshold": str(DEFAULT_RULES.major_threshold),
            **extra}


def _new_user(**extra: Any) -> dict[str, Any]:
    return {"username": f"scenario_new_{next(_n)}", "display_name": "新人", "password": PASSWORD,
            "role": "accountant", "unit_id": f.unit("HL-MK-02").id, **extra}


def _unit(**extra: Any) -> dict[str, Any]:
    return {"parent_id": f.unit("HL-MK").id, "code": f"HL-MK-S{next(_n)}", "name": "测试村", "bank_name": "农行",
            "bank_account": "62284800", "bank_account_name": "测试村股份经济合作社", **extra}


def _activation_twice(as_: Callable[[str], ApiClient]) -> Any:
    user_id = _person(invited=True)
    key = f"scenario-activation-{user_id}"
    as_("hl_admin").post(f"/admin/users/{user_id}/activation", key=key)
    return as_("hl_admin").post(f"/admin/users/{user_id}/activation", key=key)


def _remove(as_: Callable[[str], ApiClient], who: str, last: bool = False) -> Any:
    user_id, assignment_id = _two_roles()
    if last:
        first = f.db.session.get(User, user_id).assignments[0].id
        as_("hl_admin").delete(f"/admin/users/{user_id}/roles/{first}")
    return as_(who).delete(f"/admin/users/{user_id}/roles/{assignment_id}")


MISSING = 2147483647
SCENARIOS: dict[tuple[str, int], Scenario] = {
    ("list_admin_users", 200): lambda as_: as_("hl_admin").get("/admin/users?q=dy_"),
    ("list_admin_users", 403): lambda as_: as_("dy_baozhang").get("/admin/users"),
    ("create_admin_user", 201): lambda as_: as_("hl_admin").post("/admin/users", _new_user()),
    ("create_admin_user", 403): lambda as_: as_("yc_shenhe").post("/admin/users", _new_user()),
    ("create_admin_user", 422): lambda as_: as_("hl_admin").post("/admin/users", _new_user(username="dy_shuji")),
    ("get_admin_user", 200): lambda as_: as_("hl_admin").get(f"/admin/users/{_person()}"),
    ("get_admin_user", 403): lambda as_: as_("yc_lianqing").get(f"/admin/users/{_person()}"),
    ("set_user_active", 200): lambda as_: as_("hl_admin").post(f"/admin/users/{_person()}/active",
                                                               {"active": False, "reason": "调离"}),
    ("set_user_active", 403): lambda as_: as_("yc_shenhe").post(f"/admin/users/{_person()}/active",
                                                                {"active": False}),
    ("set_user_active", 404): lambda as_: as_("hl_admin").post(f"/admin/users/{MISSING}/active", {"active": False}),
    ("set_user_active", 422): lambda as_: as_("hl_admin").post(
        f"/admin/users/{f.user('hl_admin').id}/active", {"active": False}),  # not one's own account
    ("issue_activation", 200): lambda as_: as_("hl_admin").post(f"/admin/users/{_person(invited=True)}/activation"),
    ("issue_activation", 403): lambda as_: as_("yc_shenhe").post(f"/admin/users/{_person(invited=True)}/activation"),
    ("issue_activation", 409): _activation_twice,
    ("issue_activation", 422): lambda as_: as_("hl_admin").post(f"/admin/users/{_person()}/activation"),
    ("add_user_role", 200): lambda as_: as_("hl_admin").post(f"/admin/users/{_person()}/roles",
                                                             {"role": "liaison", "unit_id": f.unit("HL-MK").id}),
    ("add_user_role", 403): lambda as_: as_("mk_shenhe").post(f"/admin/users/{_person()}/roles",
                                                              {"role": "liaison", "unit_id": f.unit("HL-MK").id}),
    ("add_user_role", 404): lambda as_: as_("hl_admin").post(f"/admin/users/{MISSING}/roles",
                                                             {"role": "liaison", "unit_id": f.unit("HL-MK").id}),
    ("add_user_role", 422): lambda as_: as_("hl_admin").post(f"/admin/users/{_person()}/roles",
                                                             {"role": "accountant", "unit_id": f.unit("HL-MK").id}),
    ("remove_user_role", 200): lambda as_: _remove(as_, "hl_admin"),
    ("remove_user_role", 403): lambda as_: _remove(as_, "mk_shenhe"),
    ("remove_user_role", 422): lambda as_: _remove(as_, "hl_admin", last=True),
    ("list_admin_units", 200): lambda as_: as_("hl_admin").get("/admin/units"),
    ("list_admin_units", 403): lambda as_: as_("yc_lianqing").get("/admin/units"),
    ("create_admin_unit", 201): lambda as_: as_("hl_admin").post("/admin/units", _unit()),
    ("create_admin_unit", 403): lambda as_: as_("mk_shenhe").post("/admin/units", _unit()),
    ("create_admin_unit", 422): lambda as_: as_("hl_admin").post("/admin/units", _unit(bank_account="abc")),
    ("get_routing_policy", 200): lambda as_: as_("hl_admin").get("/townships/HL-MK/routing-policy"),
    ("get_routing_policy", 403): lambda as_: as_("mk_xiangzhang").get("/townships/HL-MK/routing-policy"),
    ("put_routing_policy", 200): lambda as_: as_("hl_admin").put("/townships/HL-MK/routing-policy", _rules()),
    ("put_routing_policy", 403): lambda as_: as_("mk_xiangzhang").put("/townships/HL-MK/routing-policy", _rules()),
    ("put_routing_policy", 404): lambda as_: as_("hl_admin").put("/townships/HL-NOWHERE/routing-policy", _rules()),
    ("put_routing_policy", 409): lambda as_: as_("hl_admin").put("/townships/HL-MK/routing-policy",
                                                                 _rules(based_on=99)),
    ("put_routing_policy", 422): lambda as_: as_("hl_admin").put("/townships/HL-MK/routing-policy",
                                                                 _rules(steps=[{"role": "village_lead"}])),
}

# The shared statuses (an unknown id's 404, ...) asked by the admin: anyone else is refused first (403).
SHARED_AS: dict[str, str] = {endpoint: "hl_admin" for endpoint, _status in SCENARIOS}

"""The statuses of the controls' endpoints (finance/controls/api.py) for tests/api/test_statuses.py: resolutions
and contracts (the accountant of 东岳村), a request's link and 原件已收, and per township the register, the
负面清单 and the control policy (the district admin)."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

from finance.controls import queries
from finance.controls import services as controls
from finance.extensions import db
from finance.workflow import State
from tests import factories as f
from tests.api.conftest import ApiClient

As = Callable[[str], ApiClient]
MP = "multipart/form-data"
TODAY = date.today().isoformat()


def _photo() -> bytes:
    return f.jpeg_bytes(color=f"#{uuid.uuid4().hex[:6]}")


def resolution_id() -> int:
    """A resolution of 东岳村 (80,000 yuan), recorded by its accountant."""
    village = f.unit("HL-YC-01")
    res = controls.create_resolution(f.user("dy_baozhang"), village, controls.ResolutionInput(
        matter="主街硬化工程", matter_kind="works", meeting_date=TODAY, expected=40, present=35, amount="80000",
        minutes=controls.Upload("m.jpg", _photo()), publicity=controls.Upload("p.jpg", _photo())),
        queries.control_rules(village.township))
    db.session.commit()
    return res.id


def contract_id() -> int:
    row = controls.create_contract(f.user("dy_baozhang"), f.unit("HL-YC-01"), controls.ContractInput(
        title="施工合同", counterparty="宏基建筑", amount="30000", signed_on=TODAY,
        file=controls.Upload("c.jpg", _photo())))
    db.session.commit()
    return row.id


def person_id() -> int:
    person = controls.add_related_person(f.user("hl_admin"), f.user("dy_shuji"), controls.PersonInput(
        name="王小明", relation="child", accounts=f"62284800{uuid.uuid4().int % 10**11:011d}"))
    db.session.commit()
    return person.id


def negative_item_id() -> int:
    row = controls.add_negative_item(f.user("hl_admin"), f.unit("HL-YC"), controls.NegativeItemInput(
        item="烟酒", keywords="烟酒 香烟", action="refuse"))
    db.session.commit()
    return row.id


def _request(state: State) -> int:
    n = uuid.uuid4().int % 10**11
    return f.in_state(state, payee_name=f"濮阳市华龙区第{n}农资部", payee_account=f"62284801{n:011d}").id


def resolution_form() -> dict[str, Any]:
    return {"matter": "村道维修", "matter_kind": "works", "meeting_date": TODAY, "expected": "30", "present": "25",
            "amount": "5000", "minutes": (io.BytesIO(_photo()), "m.jpg"), "publicity": (io.BytesIO(_photo()), "p.jpg")}


def contract_form() -> dict[str, Any]:
    return {"title": "采购合同", "counterparty": "兴农农资", "amount": "2000", "signed_on": TODAY,
            "file": (io.BytesIO(_photo()), "c.jpg")}


def _result() -> dict[str, Any]:
    return {"result": (io.BytesIO(_photo()), "r.jpg")}


PERSON = {"name": "王小红", "relation": "spouse", "accounts": ["6228480012340000222"]}
# The defaults but one (the scenarios share one database: a committee of two or 原件已收 before payment
# would stop the later scenarios' factories from approving and paying in 岳村镇).
POLICY = {"window_days": 30, "quorum": "2/3", "committee_village_supervisor": 1, "committee_village_lead": 1,
          "salary_subjects": ["211", "2301"], "image_distance": 11, "originals_before_payment": False}


def _wang() -> int:
    return f.user("dy_shuji").id


SCENARIOS: dict[tuple[str, int], Callable[[As], Any]] = {
    ("list_resolutions", 200): lambda as_: as_("dy_baozhang").get("/resolutions"),
    ("list_resolutions", 404): lambda as_: as_("yc_lianqing").get("/resolutions"),
    ("create_resolution", 201): lambda as_: as_("dy_baozhang").post("/resolutions", data=resolution_form(),
                                                                    content_type=MP),
    ("create_resolution", 403): lambda as_: as_("yc_lianqing").post("/resolutions", data=resolution_form(),
                                                                    content_type=MP),
    ("get_resolution", 200): lambda as_: as_("dy_shuji").get(f"/resolutions/{resolution_id()}"),
    ("add_result_publicity", 200): lambda as_: as_("dy_baozhang").post(f"/resolutions/{resolution_id()}/result",
                                                                       data=_result(), content_type=MP),
    ("add_result_publicity", 403): lambda as_: as_("dy_shuji").post(f"/resolutions/{resolution_id()}/result",
                                                                    data=_result(), content_type=MP),
    ("resolution_file", 200): lambda as_: as_("dy_baozhang").get(f"/resolutions/{resolution_id()}/files/minutes"),
    ("list_contracts", 200): lambda as_: as_("dy_baozhang").get("/contracts"),
    ("list_contracts", 404): lambda as_: as_("hl_admin").get("/contracts"),
    ("create_contract", 201): lambda as_: as_("dy_baozhang").post("/contracts", data=contract_form(),
                                                                  content_type=MP),
    ("create_contract", 403): lambda as_: as_("yc_shenhe").post("/contracts", data=contract_form(), content_type=MP),
    ("get_contract", 200): lambda as_: as_("dy_shuji").get(f"/contracts/{contract_id()}"),
    ("contract_file", 200): lambda as_: as_("dy_baozhang").get(f"/contracts/{contract_id()}/file"),
    ("get_link", 200): lambda as_: as_("dy_shuji").get(f"/requests/{_request(State.PENDING)}/link"),
    ("put_link", 200): lambda as_: as_("dy_baozhang").put(f"/requests/{_request(State.DRAFT)}/link",
                                                          {"resolution_id": resolution_id()}),
    ("put_link", 403): lambda as_: as_("dy_shuji").put(f"/requests/{_request(State.DRAFT)}/link",
                                                       {"resolution_id": resolution_id()}),
    ("mark_originals", 200): lambda as_: as_("yc_shenhe").post(f"/requests/{_request(State.APPROVED)}/originals"),
    ("mark_originals", 403): lambda as_: as_("yc_chuna").post(f"/requests/{_request(State.APPROVED)}/originals"),
    ("township_register", 200): lambda as_: as_("hl_admin").get("/townships/HL-YC/register"),
    ("official_register", 200): lambda as_: as_("hl_admin").get(f"/officials/{_wang()}/register"),
    ("set_own_identity", 200): lambda as_: as_("hl_admin").put(f"/officials/{_wang()}/identity",
                                                               {"accounts": ["6228480099990000"]}),
    ("add_related_person", 201): lambda as_: as_("hl_admin").post(f"/officials/{_wang()}/register", PERSON),
    ("add_related_person", 404): lambda as_: as_("yc_lianqing").post(f"/officials/{_wang()}/register", PERSON),
    ("get_related_person", 200): lambda as_: as_("hl_admin").get(f"/related-people/{person_id()}"),
    ("edit_related_person", 200): lambda as_: as_("hl_admin").put(f"/related-people/{person_id()}", PERSON),
    ("edit_related_person", 404): lambda as_: as_("dy_baozhang").put(f"/related-people/{person_id()}", PERSON),
    ("remove_related_person", 200): lambda as_: as_("hl_admin").post(f"/related-people/{person_id()}/remove",
                                                                     {"reason": "登记错误"}),
    ("negative_list", 200): lambda as_: as_("hl_admin").get("/townships/HL-YC/negative-list"),
    ("add_negative_item", 201): lambda as_: as_("hl_admin").post("/townships/HL-YC/negative-list",
                                                                 {"item": "礼品", "action": "warn"}),
    ("add_negative_item", 404): lambda as_: as_("yc_lianqing").post("/townships/HL-YC/negative-list",
                                                                    {"item": "礼品"}),
    ("remove_negative_item", 204): lambda as_: as_("hl_admin").delete(f"/negative-items/{negative_item_id()}"),
    ("get_control_policy", 200): lambda as_: as_("hl_admin").get("/townships/HL-YC/control-policy"),
    ("put_control_policy", 200): lambda as_: as_("hl_admin").put("/townships/HL-YC/control-policy", POLICY),
    ("put_control_policy", 404): lambda as_: as_("yc_lianqing").put("/townships/HL-YC/control-policy", POLICY),
}

# A real row for the shared 400/415/422 (so that what is refused is the request, not the id).
REAL_IDS: dict[str, Callable[[], int]] = {"resolution_id": resolution_id, "contract_id": contract_id,
                                          "person_id": person_id}

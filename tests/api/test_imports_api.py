"""Bulk imports through /api/v1 (issue 13 item 5, docs/api.md): POST the file, get the result; the same
run as the page: problems named by line and column (422), nothing imported; idempotent; one event per
record and one for the import; scope as the page's."""

from __future__ import annotations

import io
import json
import re
from typing import Any

from sqlalchemy import select

from finance.imports.models import ImportBatch
from finance.payment_requests.models import PaymentRequest
from tests.imports_helpers import events
from tests.test_imports_history import PAYMENT
from tests.test_imports_people import PEOPLE

MP = "multipart/form-data"


def send(client: Any, kind: str, name: str, data: bytes) -> Any:
    return client.post("/imports", data={"kind": kind, "file": (io.BytesIO(data), name)}, content_type=MP)


def test_people_through_the_api_with_their_activation_links_once(as_user, db):
    admin = as_user("hl_admin")
    r = send(admin, "people", "people.csv", PEOPLE.encode())
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert (body["added"], body["changed"], body["lines"]) == (2, True, 3)
    assert all(re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", a["code"]) for a in body["activations"])
    batch = db.execute(select(ImportBatch).where(ImportBatch.id == body["batch_id"])).scalar_one()
    assert batch.via == "api"
    got = admin.get(f"/imports/{body['batch_id']}").get_json()
    assert (got["kind"], got["added"], got["sha256"]) == ("people", 2, body["sha256"]) and "activations" not in got
    again = send(admin, "people", "people.csv", PEOPLE.encode()).get_json()
    assert (again["added"], again["changed"], again["batch_id"], again["activations"]) == (0, False, None, [])


def test_a_bad_file_is_a_422_naming_each_line_and_column(as_user, db):
    admin = as_user("hl_admin")  # its token is an event of its own
    before = events(db)
    text = "编码,名称,级别,上级编码\nQF,清丰县,县,\nQF-01,韩村镇,镇,QF-09\nQF-02,阳邵,省,QF\n"
    r = send(admin, "org-units", "units.csv", text.encode())
    assert r.status_code == 422 and r.mimetype == "application/problem+json"
    fields = {e["field"]: e["detail"] for e in r.get_json()["errors"]}
    assert set(fields) == {"file:3:上级编码", "file:4:级别"}
    assert "units.csv 第 3 行“上级编码”列" in fields["file:3:上级编码"]
    assert events(db) == before


def test_history_through_the_api_as_a_zip_and_scope(as_user, db):
    import zipfile

    from tests import factories as f

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("history.jsonl", json.dumps(PAYMENT, ensure_ascii=False) + "\n")
        archive.writestr("files/LS2025-000123-1.jpg", f.jpeg_bytes())
    agency = as_user("yc_shenhe")
    r = send(agency, "history", "export.zip", buf.getvalue())
    assert r.status_code == 200 and r.get_json()["added"] == 1, r.get_json()
    assert db.execute(select(PaymentRequest).where(PaymentRequest.number == "LS2025-000123")).scalar_one().imported
    other = {**PAYMENT, "number": "MK-1", "village": "HL-MK-01", "attachments": []}
    r = send(as_user("yc_shenhe"), "history", "h.jsonl", (json.dumps(other, ensure_ascii=False) + "\n").encode())
    assert r.status_code == 422 and "file:1:village" in {e["field"] for e in r.get_json()["errors"]}
    assert send(as_user("yc_shenhe"), "people", "p.csv", PEOPLE.encode()).status_code == 422  # not this kind
    assert send(as_user("dy_baozhang"), "people", "p.csv", PEOPLE.encode()).status_code == 403
    # an import by someone else is not there for the agency reviewer
    admin_batch = send(as_user("hl_admin"), "subjects", "c.csv", "科目编码,科目名称,类别\n561,投资收益,损益\n".encode())
    assert as_user("yc_shenhe").get(f"/imports/{admin_batch.get_json()['batch_id']}").status_code == 404


def test_activation_codes_of_an_import_are_not_kept_with_its_idempotency_key(as_user, db):
    from finance.api.models import IdempotencyKey

    admin = as_user("hl_admin")
    form = {"kind": "people", "file": (io.BytesIO(PEOPLE.encode()), "people.csv")}
    first = admin.post("/imports", key="people-once", data=form, content_type=MP)
    codes = [a["code"] for a in first.get_json()["activations"]]
    assert first.status_code == 200 and codes
    kept = db.execute(select(IdempotencyKey.body).where(IdempotencyKey.key == "people-once")).scalar_one()
    assert not any(code in (kept or "") for code in codes)
    again = admin.post("/imports", key="people-once", content_type=MP,
                       data={"kind": "people", "file": (io.BytesIO(PEOPLE.encode()), "people.csv")})
    assert again.status_code == 409 and not any(code in again.get_data(as_text=True) for code in codes)
    assert db.execute(select(ImportBatch)).scalars().all()[-1].id == first.get_json()["batch_id"]  # nothing again

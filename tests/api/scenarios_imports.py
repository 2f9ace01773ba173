"""Statuses of the imports API beyond the shared ones (tests/api/test_statuses.py takes them from here)."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from typing import Any

from tests.api.conftest import ApiClient

As = Callable[[str], ApiClient]
MP = "multipart/form-data"


def _people_twice(as_: As) -> Any:
    """People with their one-time activation codes, sent again with the same Idempotency-Key: 409."""
    name = f"imp_{uuid.uuid4().hex[:8]}"
    csv = f"用户名,姓名,角色,单位编码,身份证号,手机号,银行账号\n{name},周会计,accountant,HL-YC-02,,,\n".encode()
    key = uuid.uuid4().hex

    def send() -> Any:
        return as_("hl_admin").post("/imports", key=key, content_type=MP,
                                    data={"kind": "people", "file": (io.BytesIO(csv), "people.csv")})

    first = send()
    assert first.status_code == 200 and first.get_json()["activations"], first.get_json()
    return send()


SCENARIOS: dict[tuple[str, int], Callable[[As], Any]] = {
    ("import_file", 409): _people_twice,
}

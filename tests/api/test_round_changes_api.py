"""The API gives a resubmitted request's changes since the round before (issue 16 item 1)."""

from __future__ import annotations

from finance.workflow import State
from tests import factories as f
from tests.test_round_changes import returned_and_changed


def test_the_api_gives_the_changes_with_the_request(as_user):
    """GET /api/v1/requests/<id>: the same changes under changes_since_last_round (None before a resubmission)."""
    req = returned_and_changed()
    body = as_user("dy_shuji").get(f"/requests/{req.id}").get_json()
    changes = body["changes_since_last_round"]
    assert changes["round"] == 2
    assert {"field": "amount", "label": "金额", "old": "¥58,000.00", "new": "¥58,500.00"} in changes["fields"]
    assert {"kind": "验收单", "filename": "验收单.jpg"} in changes["attachments_added"]
    assert changes["attachments_removed"] == [{"kind": "四议两公开会议记录", "filename": "minutes.jpg"}]
    first = f.in_state(State.PENDING, payee_name="濮阳市华龙区另一家商行", payee_account="6228480099999999999")
    assert as_user("dy_shuji").get(f"/requests/{first.id}").get_json()["changes_since_last_round"] is None

"""The 409 page says why (issue 16 item 10): the same person had already done it (a second tap from another
page), or the request changed underneath, and then what changed, read off the request's events."""

from __future__ import annotations

import re
import uuid

from finance.extensions import db
from finance.payment_requests import services as requests
from finance.payment_requests.changes import conflict_story
from finance.roles import Role
from finance.workflow import State
from tests import factories as f
from tests.test_separation_of_duties import person


def version_and_key(client, path: str) -> dict[str, str]:
    page = client.get(path).get_data(as_text=True)
    return {"version": re.search(r'name="version" value="(\d+)"', page).group(1), "client_key": uuid.uuid4().hex}


def test_a_second_tap_from_another_page_is_called_the_users_own(client):
    req = f.in_state(State.PENDING)
    client.login("dy_shuji")
    first, second = (version_and_key(client, f"/requests/{req.id}/approve") for _ in range(2))  # two tabs
    assert client.post(f"/requests/{req.id}/approve", data=first).status_code == 303
    response = client.post(f"/requests/{req.id}/approve", data=second)
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "您已经办理过了" in html and "您已经办理过这一步，没有重复办理。" in html
    assert "该事项已被他人处理" not in html
    story = conflict_story(req, f.user("dy_shuji").id)
    assert story.mine and story.lines[0].action == "同意"


def test_a_change_underneath_names_who_did_what_and_the_values(client):
    req = f.in_state(State.RETURNED, "58000.00")
    client.login("dy_baozhang")
    stale = version_and_key(client, f"/requests/{req.id}")  # the withdraw form, shown at this version
    acc = f.user("dy_baozhang")
    # meanwhile a second accountant of 东岳村 changes it
    other = person("dy_baozhang2", (Role.ACCOUNTANT, "HL-YC-01"))
    requests.update_draft(other, req, f.request_input("58500.00", meeting_amount=None))
    db.session.commit()
    response = client.post(f"/requests/{req.id}/withdraw", data=stale)
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "在您打开页面之后，这个申请有了变化：" in html and "您已经办理过了" not in html
    story = conflict_story(req, acc.id)
    assert not story.mine
    returned, line = story.lines  # what happened since this accountant's own submission, oldest first
    assert returned.action == "退回修改" and returned.role == "村负责人"
    assert line.who == "dy_baozhang2" and line.action == "修改"
    assert ("金额", "¥58,000.00", "¥58,500.00") in [(c.label, c.old, c.new) for c in line.fields]
    assert "<del>¥58,000.00</del> → <ins>¥58,500.00</ins>" in html

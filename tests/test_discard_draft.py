"""A mistaken draft can be discarded (issue 16 item 7): one `discard` event, it leaves the to-do list, keeps
its number (a new draft gets the next one), and the trail still verifies; only a draft, only its
accountant; the detail page offers it folded, and posting it goes through the write pipeline."""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import func, select

from audit.models import Event
from finance.errors import Forbidden
from finance.extensions import db
from finance.oversight.verification import verify_chains
from finance.payment_requests import services as requests
from finance.payment_requests.models import PaymentRequest
from finance.payment_requests.queries import inbox_for
from finance.workflow import NotAllowed, State
from tests import factories as f


def events_of(req: PaymentRequest) -> list[str]:
    return list(db.session.execute(select(Event.action).where(Event.subject_type == "payment_request",
                                                               Event.subject_id == str(req.id))
                                   .order_by(Event.seq)).scalars())


def test_a_discarded_draft_leaves_the_todo_list_and_keeps_its_number(db):
    accountant = f.user("dy_baozhang")
    req = f.draft()
    number = req.number
    assert req in inbox_for(accountant)
    before = db.execute(select(func.count(Event.id))).scalar_one()
    row = requests.discard(accountant, req, client_key=uuid.uuid4().hex)
    db.commit()
    assert row is not None and req.state == State.DISCARDED and req.waiting_role is None
    assert db.execute(select(func.count(Event.id))).scalar_one() == before + 1
    assert events_of(req)[-1] == "discard" and req.number == number
    assert req not in inbox_for(accountant)
    newer = f.draft()
    assert newer.number != number and int(newer.number[-6:]) > int(number[-6:])
    assert verify_chains(["village:HL-YC-01"])["village:HL-YC-01"].ok
    with pytest.raises(NotAllowed):  # nothing more happens to it
        requests.submit(accountant, req, client_key=uuid.uuid4().hex)


def test_only_a_draft_and_only_its_accountant(db):
    with pytest.raises(NotAllowed):
        requests.discard(f.user("dy_baozhang"), f.in_state(State.RETURNED))
    with pytest.raises(Forbidden):
        requests.discard(f.user("dy_shuji"), f.draft())
    with pytest.raises(Forbidden):
        requests.discard(f.user("yc_lianqing"), f.draft())


def test_the_detail_page_discards_a_draft_once(client):
    req = f.draft()
    client.login("dy_baozhang")
    page = client.get(f"/requests/{req.id}").get_data(as_text=True)
    assert '<details class="discard"' in page and f"编号 {req.number} 不再使用" in page
    form = page.split(f'action="/requests/{req.id}/discard"')[1]
    key = re.search(r'name="client_key" value="([0-9a-f]+)"', form).group(1)
    for _ in range(2):  # a double tap discards once
        response = client.post(f"/requests/{req.id}/discard", data={"client_key": key})
        assert response.status_code == 303
    db.session.expire_all()
    assert events_of(req).count("discard") == 1
    shown = client.get(f"/requests/{req.id}").get_data(as_text=True)
    assert "草稿已作废，已从待办中移除。" in shown and "草稿已作废，流程结束" in shown
    assert f'action="/requests/{req.id}/discard"' not in shown

from finance.workflow import State
from tests import factories as f


def test_login_and_home(client):
    r = client.login("dy_baozhang")
    assert r.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "李秀英" in page and "村报账员" in page


def test_request_reaches_paid_through_services(db):
    req = f.in_state(State.PAID, "60000.00")
    assert req.state == State.PAID
    assert len([a for a in req.actions if a.action.value == "approve"]) == 5

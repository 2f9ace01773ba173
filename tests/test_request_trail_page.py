"""The liaison's trail page of one request (issue 16 item 12): names and labels instead of recorded ids and
codes, each event summed up with its raw record folded, and the request's own verification result at
the top (✔, or what failed)."""

from __future__ import annotations

import re

from sqlalchemy import text

from finance.extensions import db
from finance.workflow import State
from tests import factories as f


def main_of(html: str) -> str:
    return html.split("<main", 1)[1].split("</main>", 1)[0]


def visible(html: str) -> str:
    """The page's text outside the folded raw records (each event's <summary> is what shows)."""
    return re.sub(r"</summary>.*?</details>", "", main_of(html), flags=re.S)


def test_the_trail_shows_names_and_labels_and_folds_the_raw_record(client):
    req = f.in_state(State.PAID, "58500.00")
    client.login("yc_lianqing")
    html = client.get(f"/oversight/requests/{req.id}").get_data(as_text=True)
    shown = visible(html)
    raw = re.findall(r"</summary>(.*?)</details>", html, re.S)
    for internal in ("HL-YC-01", f"申请人：{req.requester_id}<", "审批步骤：0", "轮次：0", "会计科目：5401<",
                     "policy_id", "requester_id"):
        assert internal not in shown, internal
    assert "金额：¥58,500.00" in shown and "村负责人" in shown
    assert "<del>第 1 步 · 村负责人</del> → 第 2 步 · 村务监督委员会主任" in "".join(raw)  # folded
    assert "流水号" in shown  # the payment, summed up
    assert len(raw) == len(re.findall(r'<li id="trail-\d+"', html)) > 8
    assert any("东岳村" in r and "李秀英" in r and "5401 管理费用" in r for r in raw)  # the create record, named
    assert 'id="request-verify"' in html and "✔ 本申请的" in html
    assert html.index('id="request-verify"') < html.index("全过程留痕")


def test_a_tampered_event_of_the_request_is_named_at_the_top(client):
    req = f.in_state(State.PENDING)
    other = f.in_state(State.PENDING, "900.00")
    client.login("yc_lianqing")
    # someone with database access rewrites the request's amount behind the services' back
    db.session.execute(text("UPDATE payment_request SET amount = 1.00 WHERE id = :id"), {"id": req.id})
    db.session.commit()
    html = client.get(f"/oversight/requests/{req.id}").get_data(as_text=True)
    top = html.split('id="request-verify"')[1].split("</div>")[0]
    assert "✘ 校验失败" in top and "金额" in top and req.number in top
    untouched = client.get(f"/oversight/requests/{other.id}").get_data(as_text=True)
    assert "✘ 校验失败" in untouched and "另有 1 处问题" in untouched  # same chain: not fully trusted

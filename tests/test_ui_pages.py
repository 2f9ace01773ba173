"""What a township reads on the pages: homes for people without a to-do list, public 404s that say what to
do, waiting times in words, and the liaison's trail in Chinese."""

from __future__ import annotations

import re
from datetime import timedelta

from finance import trail
from finance.extensions import db
from finance.oversight import labels
from finance.workflow import State
from tests import factories as f


def test_admin_home_is_a_desk_of_what_admins_do(client):
    client.login("hl_admin")
    html = client.get("/").get_data(as_text=True)
    assert "<h1 class=\"page-title\">工作台</h1>" in html and "我的待办" not in html
    assert 'href="/admin/"' in html and 'href="/admin/users"' in html and 'href="/admin/users/new"' in html
    assert "没有待办事项" not in html
    # the district admin reads every township's summary (提级监督, issue 12), never the liaison's desk
    assert re.findall(r'href="(/oversight/[^"]*)"', html) == ["/oversight/flags/district"]


def test_liaison_home_links_to_oversight(client):
    client.login("yc_lianqing")
    html = client.get("/").get_data(as_text=True)
    assert "工作台" in html and 'href="/oversight/requests"' in html and 'href="/oversight/"' in html
    assert 'href="/admin/' not in html and "新建支出申请" not in html


def test_people_with_a_to_do_list_keep_it_and_an_empty_one_says_so(client):
    client.login("xy_jianwei")
    html = client.get("/").get_data(as_text=True)
    assert "我的待办" in html and "工作台" not in html
    assert "没有待办事项" in html and "有申请送到您这一步时" in html


def test_waiting_less_than_a_day_is_said_in_words(client):
    fresh = f.in_state(State.PENDING, "100.00", payee_name="刚送到的申请")
    older = f.in_state(State.PENDING, "200.00", payee_name="等了五天的申请")
    older.waiting_since = older.waiting_since - timedelta(days=5)
    db.session.commit()
    client.login("dy_shuji")
    html = client.get("/").get_data(as_text=True)
    assert "已等待不到 1 天" in html and "已等待 0 天" not in html
    assert 'class="days nowrap days-late">已等待 5 天' in html
    assert "已等待 0 天" not in client.get(f"/requests/{fresh.id}").get_data(as_text=True)


def test_approve_hint_has_no_stray_spaces_around_the_role(client):
    req = f.in_state(State.PENDING, "100.00")
    client.login("dy_shuji")
    page = client.get(f"/requests/{req.id}").get_data(as_text=True)
    assert "以村负责人身份审批第 1 步。" in page and "村负责人 审批" not in page


def test_a_bad_verification_code_tells_the_public_what_to_do(client):
    response = client.get("/v/not-a-token")
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "无法核验此审批单" in html and "乡镇三资代理中心" in html
    assert "管辖范围" not in html and "返回首页" not in html


def test_a_missing_disclosure_month_tells_the_public_what_to_do(client):
    response = client.get("/gongkai/HL-YC-01/2999-01")
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "没有这一期财务公开" in html and "返回首页" not in html
    assert client.get("/gongkai/HL-YC-99/2026-01").status_code == 404


def test_trail_values_read_in_chinese():
    payment = {"amount": "18600.00", "bank_reference": "NYH1", "payer_account": "6228", "value_date": "2026-11-26"}
    text = labels.show_value("payment", payment)
    assert "银行流水号: NYH1" in text and "付款账号" in text and "支付日期" in text
    assert "bank_reference" not in text and "value_date" not in text
    attachment = {"filename": "回单.jpg", "id": 5, "kind": "receipt", "size": 25425}
    expected = "文件名: 回单.jpg，编号: 5，类型: 银行回单，大小（字节）: 25425"
    assert labels.show_value("attachment", attachment) == expected
    assert labels.show_value("role", "cashier") == "代理中心出纳"
    assert trail.subject_label("payment_request") == "支出申请"


def test_liaison_event_page_has_no_english_labels(client):
    f.in_state(State.PENDING, "100.00")
    db.session.commit()
    client.login("yc_lianqing")
    html = client.get("/oversight/chains/village:HL-YC-01").get_data(as_text=True)
    assert "上一条哈希" in html and "本条哈希" in html and "支出申请" in html
    assert "<dt>prev_hash</dt>" not in html and "payment_request " not in html
    # the recorded payload reads as labelled fields; the hashed JSON stays one tap away
    assert "收款人：" in html and "金额：100.00" in html and "原始记录" in html


def test_the_admin_is_not_told_there_are_no_requests(client, make_client):
    """The district admin reads no requests; the list is out of scope (404), not an empty "还没有申请"."""
    client.login("hl_admin")
    assert client.get("/requests").status_code == 404
    accountant = make_client()
    accountant.login("dy_baozhang")
    assert accountant.get("/requests").status_code == 200

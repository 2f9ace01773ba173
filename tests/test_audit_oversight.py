"""The liaison's pages: scoped, read-only, and each attachment view or export is an event."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from flask import g
from sqlalchemy import func, select, text

import audit
from finance.oversight import queries
from finance.oversight.models import Question
from finance.timefmt import today_local
from finance.workflow import State
from tests import factories as f

CHAIN = "village:HL-YC-01"


def login_as(make_client, username: str):
    """A second client in the same test. The test's app context is shared by all requests, so the CSRF
    token Flask-WTF caches on `g` for the first client must go before the next one logs in."""
    g.pop("csrf_token", None)
    other = make_client()
    other.login(username)
    return other


def events(chain: str = CHAIN) -> int:
    from finance.extensions import db

    return int(
        db.session.execute(
            select(func.count(audit.Event.id)).where(audit.Event.chain_id == chain)
        ).scalar_one()
    )


def test_liaison_sees_paid_request_trail_green_and_downloads_checkpoint(client, db):
    req = f.in_state(State.PAID, "60000.00")
    client.login("yc_lianqing")
    page = client.get("/oversight/").get_data(as_text=True)
    assert "东岳村" in page and "校验通过" in page and "校验失败" not in page
    detail = client.get(f"/oversight/requests/{req.id}").get_data(as_text=True)
    for label in ("创建草稿", "提交", "同意", "支付", "添加附件"):
        assert label in detail
    assert detail.count("王建国") >= 1 and "吴国栋" in detail  # first and last approvers
    before = events()
    r = client.post(f"/oversight/chains/{CHAIN}/checkpoints")
    assert r.status_code == 200 and "attachment" in r.headers["Content-Disposition"]
    kept = [audit.SignedCheckpoint.from_json(item) for item in json.loads(r.data)]
    assert events() == before + 1  # the export itself is an event
    from finance.audit_keys import trusted_keys

    newest = kept[0]
    assert newest.size == before + 1 and newest.verify(trusted_keys())
    last = db.execute(
        select(audit.Event).where(audit.Event.chain_id == CHAIN, audit.Event.seq == newest.size)
    ).scalar_one()
    assert last.action == "liaison_export" and last.actor_role == "liaison"
    assert newest.head_hash == last.entry_hash


def test_payment_issues_a_checkpoint_in_the_same_transaction(db):
    req = f.in_state(State.PAID, "1200.00")
    pay = db.execute(
        select(audit.Event).where(
            audit.Event.chain_id == CHAIN, audit.Event.action == "pay", audit.Event.subject_id == str(req.id)
        )
    ).scalar_one()
    cp = db.execute(
        select(audit.Checkpoint)
        .where(audit.Checkpoint.chain_id == CHAIN)
        .order_by(audit.Checkpoint.size.desc())
        .limit(1)
    ).scalar_one()
    assert (cp.size, cp.head_hash) == (pay.seq, pay.entry_hash)


def test_viewing_an_attachment_is_an_event(client, db):
    req = f.in_state(State.PENDING, "1200.00")
    att = req.attachments[0]
    client.login("yc_lianqing")
    before = events()
    r = client.get(f"/oversight/attachments/{att.id}")
    assert r.status_code == 200 and r.data[:3] == b"\xff\xd8\xff"
    assert "no-store" in r.headers["Cache-Control"]
    r.close()
    assert events() == before + 1
    e = db.execute(
        select(audit.Event).where(audit.Event.chain_id == CHAIN).order_by(audit.Event.seq.desc()).limit(1)
    ).scalar_one()
    assert (e.action, e.subject_type, e.subject_id) == ("liaison_view_attachment", "attachment", str(att.id))
    assert json.loads(e.attachments) == [att.sha256]
    detail = client.get(f"/oversight/requests/{req.id}").get_data(as_text=True)
    assert "联络员查看附件" in detail


def test_other_township_and_other_roles_get_404(client, make_client, db):
    req = f.in_state(State.PENDING)
    client.login("mk_lianqing")  # liaison of the other township
    assert client.get(f"/oversight/requests/{req.id}").status_code == 404
    assert client.get(f"/oversight/attachments/{req.attachments[0].id}").status_code == 404
    assert client.get(f"/oversight/chains/{CHAIN}").status_code == 404
    assert client.post(f"/oversight/chains/{CHAIN}/checkpoints").status_code == 404
    page = client.get("/oversight/").get_data(as_text=True)
    assert "东岳村" not in page and "孟轲村" in page
    lead = login_as(make_client, "dy_shuji")  # not a liaison at all
    assert lead.get("/oversight/").status_code == 404
    assert lead.get(f"/oversight/requests/{req.id}").status_code == 404


def test_public_key_needs_no_login(client, db):
    from finance.audit_keys import public_pem

    kid, pem = public_pem()
    page = client.get("/oversight/public-key").get_data(as_text=True)
    assert kid in page and "BEGIN PUBLIC KEY" in page
    assert client.get("/oversight/public-key.pem").data.decode() == pem
    assert client.get("/oversight/").status_code == 302  # the rest needs a login


def test_request_filters(client, db):
    small = f.in_state(State.PENDING, "800.00")
    big = f.in_state(State.PAID, "20000.00", payee_name="华龙建筑队")
    client.login("yc_lianqing")

    def numbers(query: str) -> set[str]:
        page = client.get("/oversight/requests?" + query).get_data(as_text=True)
        return {n for n in (small.number, big.number) if n in page}

    assert numbers("") == {small.number, big.number}
    assert numbers("state=paid") == {big.number}
    assert numbers("amount_min=1000") == {big.number}
    assert numbers("amount_max=1000") == {small.number}
    assert numbers("payee=建筑") == {big.number}
    assert numbers(f"village={f.unit('HL-YC-02').id}") == set()
    assert numbers(f"village={f.unit('HL-YC-01').id}") == {small.number, big.number}
    # malformed filters are refused with a message under the field (and left out of the search), as on the
    # request list: one parser for both
    page = client.get("/oversight/requests?amount_min=abc&date_from=notadate&state=nope&after=2026-01-01T00:00:00_1")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "金额格式不正确" in html and "日期格式不正确" in html and "请从列表中选择状态" in html
    assert {n for n in (small.number, big.number) if n in html} == {small.number, big.number}
    # another township's village is not a choice: refused like a malformed one, never searched
    other = client.get(f"/oversight/requests?village={f.unit('HL-MK-01').id}").get_data(as_text=True)
    assert "请从列表中选择村" in other
    far = client.get("/oversight/requests?date_to=9999-12-31&after=99999999999999999999-99999999999999999999")
    assert far.status_code == 200 and "日期须在" in far.get_data(as_text=True)


def test_events_page_paginates_and_shows_hashes(client, db):
    for i in range(60):
        audit.record(db, chain_id=CHAIN, action="note", subject_type="note", subject_id=i, actor=None)
    db.commit()
    client.login("yc_lianqing")
    first = client.get(f"/oversight/chains/{CHAIN}").get_data(as_text=True)
    e1 = db.execute(
        select(audit.Event).where(audit.Event.chain_id == CHAIN, audit.Event.seq == 1)
    ).scalar_one()
    assert e1.entry_hash in first and 'id="seq-1"' in first and "第 1 / 2 页" in first
    second = client.get(f"/oversight/chains/{CHAIN}?page=2").get_data(as_text=True)
    assert 'id="seq-51"' in second and 'id="seq-1"' not in second


def test_question_ask_and_answer_each_one_event(client, make_client, db):
    req = f.in_state(State.APPROVED, "1200.00")
    client.login("yc_lianqing")
    before = events()
    deadline = today_local() + timedelta(days=10)
    r = client.post(
        f"/oversight/requests/{req.id}/questions",
        data={"text": "收款人与村干部是否有亲属关系？", "deadline": deadline.isoformat()},
    )
    assert r.status_code == 303 and events() == before + 1
    q = db.execute(select(Question).where(Question.request_id == req.id)).scalar_one()
    staff = f.user("yc_shenhe")
    assert [x.id for x in queries.open_questions_for(staff)] == [q.id]
    assert [x.id for x in queries.open_questions_for(f.user("yc_lianqing"))] == [q.id]
    assert queries.open_questions_for(f.user("mk_shenhe")) == []  # other township
    assert [x.id for x in queries.open_questions_for(f.user("dy_shuji"))] == [q.id]  # the village answers too
    assert queries.open_questions_for(f.user("xy_shuji")) == []  # another village
    # the liaison cannot answer their own question
    assert client.post(f"/oversight/questions/{q.id}/answer", data={"answer": "无"}).status_code == 403
    other = login_as(make_client, "yc_shenhe")
    assert "收款人与村干部" in other.get(f"/oversight/questions/{q.id}").get_data(as_text=True)
    assert other.post(f"/oversight/questions/{q.id}/answer", data={"answer": " "}).status_code == 422
    r = other.post(f"/oversight/questions/{q.id}/answer", data={"answer": "经核查无亲属关系。"})
    assert r.status_code == 303 and events() == before + 2
    assert other.post(f"/oversight/questions/{q.id}/answer", data={"answer": "再答"}).status_code == 409
    assert events() == before + 2
    assert queries.open_questions_for(staff) == []
    detail = client.get(f"/oversight/requests/{req.id}").get_data(as_text=True)
    assert "提出问询" in detail and "答复问询" in detail and "经核查无亲属关系" in detail


@pytest.mark.parametrize(
    "form, field",
    [
        ({"text": "", "deadline": "+5"}, "请填写内容"),
        ({"text": "问", "deadline": ""}, "请填写答复期限"),
        ({"text": "问", "deadline": "-1"}, "答复期限须在今天"),
        ({"text": "问", "deadline": "+365"}, "答复期限须在今天"),
        ({"text": "长" * 1001, "deadline": "+5"}, "最多 1000 字"),
    ],
)
def test_bad_question_changes_nothing(client, db, form, field):
    req = f.in_state(State.PENDING)
    client.login("yc_lianqing")
    data = dict(form)
    if data["deadline"]:
        data["deadline"] = (today_local() + timedelta(days=int(data["deadline"]))).isoformat()
    before = events()
    r = client.post(f"/oversight/requests/{req.id}/questions", data=data)
    assert r.status_code == 422 and field in r.get_data(as_text=True)
    assert events() == before
    assert db.execute(select(func.count(Question.id))).scalar_one() == 0


def test_page_names_the_event_changed_in_sql(client, db):
    req = f.in_state(State.PAID, "1200.00")
    target = db.execute(
        select(audit.Event).where(
            audit.Event.chain_id == CHAIN,
            audit.Event.action == "submit",
            audit.Event.subject_id == str(req.id),
        )
    ).scalar_one()
    from tests.test_audit_mutations import without_triggers

    with without_triggers(db):
        db.execute(text("UPDATE audit_event SET reason = 'forged' WHERE id = :id"), {"id": target.id})
        client.login("yc_lianqing")
        page = client.get("/oversight/").get_data(as_text=True)
        assert "校验失败" in page and f"{CHAIN} #{target.seq}" in page
        events_page = client.get(f"/oversight/chains/{CHAIN}?page={queries.page_of_seq(target.seq)}")
        assert f'id="seq-{target.seq}" class="card event event-bad"' in events_page.get_data(as_text=True)


def _every_failure_code() -> list[tuple[str, dict[str, str | int]]]:
    """Each code the verifier and the replayer report, with parameters of the kinds they carry."""
    import string

    from audit.verify import CHAIN_FAILURES
    from finance.oversight.verification import REPLAY_FAILURES

    values = {"first": 3, "last": 5, "event": 4, "next": 5, "size": 9, "vouched": 12, "key": "abcd",
              "error": "bad", "request": "ZF1", "db": "paid", "trail": "approved", "field": "payee_account",
              "fields": "amount", "village": "HL-X", "n": 2, "attachment": 17, "question": 5, "user": "dy_x",
              "roles": "township_head@HL-YC", "unit": "HL-YC-01", "policy": 7}
    out = []
    for code, template in {**CHAIN_FAILURES, **REPLAY_FAILURES}.items():
        names = [name for _text, name, _spec, _conv in string.Formatter().parse(template) if name]
        out.append((code, {name: values[name] for name in names}))
    return out


@pytest.mark.parametrize(("code", "params"), _every_failure_code(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_verifier_failure_reads_in_chinese(app, code, params):
    """The liaison page maps the verifier's codes (not its English) to Chinese, with the parameters."""
    from audit.verify import CHAIN_FAILURES, Failure
    from finance.oversight.labels import failure_text
    from finance.oversight.verification import REPLAY_FAILURES

    failure = Failure.of("village:HL-X", 3, code, {**CHAIN_FAILURES, **REPLAY_FAILURES}[code], params)
    with app.test_request_context():
        text_ = failure_text(failure)
    assert text_ != failure.reason and not any(w in text_ for w in ("differs", "events", "trail", "database"))
    for name, value in params.items():
        if name == "field":
            assert "收款账号" in text_
        elif name not in ("error", "db", "trail", "fields", "next"):
            assert str(value) in text_, (code, name)


def test_rewording_the_english_does_not_change_the_chinese(app):
    """The page reads the code: an English reason that says anything at all still reads the same."""
    from audit.verify import Failure
    from finance.oversight.labels import failure_text

    one = Failure.of("village:HL-X", 3, "missing_events", "missing events {first}..{last}", {"first": 3, "last": 5})
    two = Failure.of("village:HL-X", 3, "missing_events", "gap: {first} to {last}", {"first": 3, "last": 5})
    with app.test_request_context():
        assert failure_text(one) == failure_text(two) == "缺少第 3 至 5 条事件"


def test_request_list_pages_through_everything_once(client, db):
    made = {f.draft(f"{100 + i}.00", with_attachments=False).number for i in range(23)}
    client.login("yc_lianqing")
    seen: list[str] = []
    url = "/oversight/requests?state=draft"
    for _ in range(5):
        page = client.get(url).get_data(as_text=True)
        seen += [n for n in made if n in page]
        match = re.search(r'href="(/oversight/requests\?[^"]*after=[^"]+)"', page)
        if not match:
            break
        url = match.group(1).replace("&amp;", "&")
    assert sorted(seen) == sorted(made)


def test_open_question_appears_on_the_township_home_page(client, make_client, db):
    req = f.in_state(State.PENDING)
    from finance.oversight import services

    services.ask_question(f.user("yc_lianqing"), req, "请补充验收单照片。", today_local() + timedelta(days=3))
    db.commit()
    staff = login_as(make_client, "yc_baocun")
    home = staff.get("/").get_data(as_text=True)
    assert "待答复的问询" in home and "请补充验收单照片" in home and "/oversight/questions/" in home
    villager = login_as(make_client, "dy_baozhang")  # the village's 报账员 may answer (issue 12 item 4)
    assert "请补充验收单照片" in villager.get("/").get_data(as_text=True)
    other = login_as(make_client, "xy_baozhang")  # another village's
    assert "待答复的问询" not in other.get("/").get_data(as_text=True)


def test_csv_export_is_an_event_per_village_and_safe_in_a_spreadsheet(client, db):
    one = f.in_state(State.PENDING, "1234.50", payee_name='=HYPERLINK("http://x")')
    two = f.in_state(State.PENDING, "800.00", accountant="xy_baozhang", village="HL-YC-02")
    client.login("yc_lianqing")
    before = {c: events(c) for c in (CHAIN, "village:HL-YC-02")}
    r = client.post("/oversight/requests/export", data={"state": "pending"})
    assert r.status_code == 200 and r.mimetype == "text/csv"
    body = r.data.decode("utf-8")
    assert body.startswith("\ufeff编号,村,收款人")
    assert one.number in body and two.number in body and "1234.50" in body and "审批中" in body
    assert "'=HYPERLINK" in body and ',"=HYPERLINK' not in body
    assert {c: events(c) - n for c, n in before.items()} == {CHAIN: 1, "village:HL-YC-02": 1}
    e = db.execute(
        select(audit.Event).where(audit.Event.chain_id == CHAIN).order_by(audit.Event.seq.desc()).limit(1)
    ).scalar_one()
    assert (e.action, e.actor_role, json.loads(e.after)) == (
        "liaison_export",
        "liaison",
        {"read": {"export": "requests_csv"}},
    )
    nothing = client.post("/oversight/requests/export", data={"village": str(f.unit("HL-MK-01").id)})
    assert nothing.status_code == 400 and "请从列表中选择村" in nothing.get_data(as_text=True)  # and no event
    assert events() == before[CHAIN] + 1


def test_overdue_question_is_marked(client, db):
    req = f.in_state(State.PENDING)
    from finance.oversight import services

    q = services.ask_question(f.user("yc_lianqing"), req, "逾期测试", today_local())
    db.commit()
    assert not q.overdue
    q.deadline = today_local() - timedelta(days=1)  # as if the days had passed
    db.commit()
    assert q.overdue
    client.login("yc_lianqing")
    assert "已逾期" in client.get(f"/oversight/questions/{q.id}").get_data(as_text=True)
    assert "已逾期" in client.get("/oversight/").get_data(as_text=True)

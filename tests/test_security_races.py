"""Issue 15: the races of the review, with real concurrent connections (the harness of
tests/test_concurrency_pg.py), 200 times on PostgreSQL and fewer on SQLite; and the data migration of
bank references."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text

from finance import create_app
from finance.auth.models import User
from finance.db import Database, make_engine
from finance.demo import seed_base
from finance.extensions import db
from finance.migrate import downgrade, upgrade
from finance.payment_requests import services as requests
from finance.payment_requests.models import PaymentRequest
from finance.payments import services as payments
from finance.payments.models import Payment
from finance.workflow import State
from tests import factories as f
from tests import pg
from tests.conftest import PASSWORD, app_config, require_pg
from tests.test_concurrency_pg import _make_app, counts, prepare, race, repeat_of

pytestmark = pytest.mark.slow  # real concurrent connections, each race repeated; a migration on a fresh database

@pytest.fixture(scope="module", params=["postgresql", "sqlite"])
def race_app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    backend = str(request.param)
    app = _make_app(backend, tmp_path_factory.mktemp(f"security-race-{backend}"))
    app.config["RACE_BACKEND"] = backend
    yield app
    app.extensions[Database.key][0].dispose()
    if backend == "postgresql":
        pg.drop_database(app.config["DATABASE_URL"].split("?")[0])


# --- 3. one transfer, two spellings, two requests, one moment ------------------------------------------

@pytest.mark.postgres
def test_one_bank_reference_in_two_spellings_on_two_requests_at_once(race_app: Flask) -> None:
    """`PRB…` and `prb …` on two approved requests at the same moment: one payment, the other cashier
    told the reference was used. The request left unpaid races again in the next round."""
    with race_app.app_context():
        rounds = repeat_of(race_app)
        pool = prepare(State.APPROVED, rounds + 1)
        waiting = pool.pop()
        for other in pool:
            ref = f"PRB{uuid.uuid4().hex[:10].upper()}"
            spellings = {waiting: ref, other: f" {ref.lower()[:5]} {ref.lower()[5:]}"}

            def pay_with(target_id: int) -> Any:
                def act(user: User, _req: PaymentRequest) -> Any:
                    target = db.session.get(PaymentRequest, target_id)
                    assert target is not None
                    data = f.payment_input(target, bank_reference=spellings[target_id])
                    try:
                        return payments.record_payment(user, target, data, client_key=uuid.uuid4().hex)
                    except requests.RequestError as exc:
                        assert exc.errors == {"bank_reference": "该银行流水号已被使用过，请核对。"}
                        raise requests.AlreadyHandled from None
                return act

            results = race(race_app, waiting, [("yc_chuna", pay_with(waiting)), ("yc_chuna2", pay_with(other))])
            assert sorted(r[0] for r in results) == ["handled", "ok"], results
            a, b = counts(waiting), counts(other)
            assert a["payments"] + b["payments"] == 1
            assert {a["state"][0], b["state"][0]} == {State.PAID, State.APPROVED}
            waiting = waiting if a["state"][0] == State.APPROVED else other


# --- 3. the data migration of existing references -------------------------------------------------

@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    require_pg()
    url = pg.create_database()
    try:
        yield url
    finally:
        pg.drop_database(url)


def test_existing_bank_references_get_their_normal_form(fresh_url: str, tmp_path: Path) -> None:
    """Payments recorded before 0004 (as typed, in different spellings) get the normalised key; a
    second spelling of one reference is kept with its row id in the key, and new payments in any
    spelling of either are refused."""
    upgrade(fresh_url)
    app = create_app(app_config(fresh_url, tmp_path))
    try:
        with app.app_context():
            seed_base(PASSWORD)
            paid = [f.in_state(State.PAID) for _ in range(3)]
            ids = [p.id for p in paid]
            db.session.commit()
        downgrade(fresh_url, "0002")
        engine = make_engine(fresh_url)
        with engine.begin() as conn:
            for req_id, typed in zip(ids, ["abc-1", "ABC 1", "xyz 9"], strict=True):
                conn.execute(text("UPDATE payment SET bank_reference = :r WHERE request_id = :id"),
                             {"r": typed, "id": req_id})
        engine.dispose()
        upgrade(fresh_url)
        with app.app_context():
            keys = dict(db.session.execute(select(Payment.request_id, Payment.reference_key)).all())
            pay_id = db.session.execute(select(Payment.id).where(Payment.request_id == ids[1])).scalar_one()
            assert keys == {ids[0]: "ABC1", ids[1]: f"ABC1~{pay_id}", ids[2]: "XYZ9"}
            req = f.in_state(State.APPROVED)
            for typed in ("abc1", "XYZ-9"):
                with pytest.raises(requests.RequestError):
                    payments.record_payment(f.user("yc_chuna"), req, f.payment_input(req, bank_reference=typed))
                db.session.rollback()
    finally:
        app.extensions[Database.key][0].dispose()


# --- 4. two answers to one question at the same moment ----------------------------------------------

@pytest.mark.postgres
def test_two_answers_to_one_question_at_the_same_moment(race_app: Flask) -> None:
    """The agency reviewer and the township leader answer one question at once: one answer is kept
    with one event; the other is told it was already answered."""
    from audit.models import Event
    from finance.oversight import services as oversight
    from finance.oversight.models import Question
    from finance.timefmt import today_local

    with race_app.app_context():
        anchor = prepare(State.PENDING, 1)[0]
        liaison = f.user("yc_lianqing")
        req = db.session.get(PaymentRequest, anchor)
        assert req is not None
        question_ids = [oversight.ask_question(liaison, req, f"请说明用途 {n}", today_local()).id
                        for n in range(repeat_of(race_app, postgresql=200))]
        db.session.commit()

        def answer_with(question_id: int, text: str) -> Any:
            def act(user: User, _req: PaymentRequest) -> Any:
                q = db.session.get(Question, question_id)
                assert q is not None
                try:
                    oversight.answer_question(user, q, text)
                except oversight.AlreadyAnswered:
                    raise requests.AlreadyHandled from None
                return None
            return act

        for qid in question_ids:
            results = race(race_app, anchor, [("yc_shenhe", answer_with(qid, "审核会计的答复")),
                                              ("yc_baocun", answer_with(qid, "包村领导的答复"))])
            assert sorted(r[0] for r in results) == ["handled", "ok"], results
            winner = "审核会计的答复" if results[0][0] == "ok" else "包村领导的答复"
            answer = db.session.execute(select(Question.answer).where(Question.id == qid)).scalar_one()
            events = db.session.execute(select(Event.after).where(
                Event.subject_type == "question", Event.subject_id == str(qid), Event.action == "question_answer"
            )).scalars().all()
            db.session.rollback()
            assert answer == winner
            assert len(events) == 1 and winner in (events[0] or "")


# --- 8. a burst of guesses at one account -----------------------------------------------------------

@pytest.mark.postgres
def test_a_burst_of_parallel_guesses_gets_only_the_free_attempts(race_app: Flask) -> None:
    """16 wrong passwords for one username from 16 addresses at the same moment: the check and the count
    are one step under a row lock, so exactly LOGIN_FREE_FAILURES get to the password check."""
    import threading

    from finance.auth import throttle
    from finance.ratelimit import RateLimit

    race_app.config["LOGIN_BACKOFF_BASE_SECONDS"] = 600  # no wait runs out while the burst lasts
    free = race_app.config["LOGIN_FREE_FAILURES"]
    rounds = max(5, repeat_of(race_app) // 20)
    for n in range(rounds):
        username = f"burst_{n}_{uuid.uuid4().hex[:6]}"
        barrier = threading.Barrier(16)
        outcome: list[str] = []

        def guess(i: int, username: str = username, barrier: threading.Barrier = barrier,
                  outcome: list[str] = outcome) -> None:
            with race_app.test_request_context(environ_base={"REMOTE_ADDR": f"10.9.{n}.{i}"}):
                barrier.wait(timeout=30)
                try:
                    throttle.admit(username, f"10.9.{n}.{i}", None)
                    db.session.commit()
                    outcome.append("admitted")
                except throttle.Throttled:
                    db.session.rollback()
                    outcome.append("throttled")
                except Exception as exc:
                    db.session.rollback()
                    outcome.append(f"error {exc!r}")
                finally:
                    db.scoped.remove()

        threads = [threading.Thread(target=guess, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert sorted(outcome) == ["admitted"] * free + ["throttled"] * (16 - free), outcome
        with race_app.app_context():
            row = db.session.get(RateLimit, ("user", username))
            assert row is not None and row.count == free
            db.session.rollback()


# --- 2. submit racing the removal of a required attachment -----------------------------------------

@pytest.mark.postgres
def test_submit_and_removing_its_only_invoice_at_the_same_moment(race_app: Flask) -> None:
    """The accountant submits on one phone and removes the request's only invoice on another, at once:
    either the request is pending with its invoice (the removal is refused: no longer editable) or it
    is still a draft without it (the submit is refused: the invoice is missing). Never pending without
    its required attachment."""
    from finance.attachment_kinds import AttachmentKind
    from finance.payment_requests.models import Attachment

    with race_app.app_context():
        # drafts with their invoice and its facts, each to its own payee (the controls' cumulative band)
        ids = [f.draft("1200.00", payee_name=f"兴农农资经营部{n:04d}", payee_account=f"62284811{n:011d}").id
               for n in range(repeat_of(race_app, postgresql=200))]
        db.session.commit()
        db.session.expunge_all()

        def submit(user: User, req: PaymentRequest) -> Any:
            try:
                return requests.submit(user, req, client_key=uuid.uuid4().hex)
            except requests.RequestError as exc:
                assert set(exc.errors) == {"attachment_invoice"}, exc.errors
                raise requests.AlreadyHandled from None

        def remove(user: User, req: PaymentRequest) -> Any:
            try:
                requests.remove_attachment(user, req.attachments[0])
            except requests.NotAllowed:
                raise requests.AlreadyHandled from None
            return None

        for req_id in ids:
            results = race(race_app, req_id, [("dy_baozhang", submit), ("dy_baozhang", remove)])
            state = db.session.execute(select(PaymentRequest.state).where(PaymentRequest.id == req_id)).scalar_one()
            left = db.session.execute(select(Attachment.kind).where(Attachment.request_id == req_id)).scalars().all()
            db.session.rollback()
            assert sorted(r[0] for r in results) == ["handled", "ok"], (results, state, left)
            if state == State.PENDING:
                assert left == [AttachmentKind.INVOICE] and results[0][0] == "ok"
            else:
                assert state == State.DRAFT and left == [] and results[1][0] == "ok"


# --- two admins publish a township's approval policy at the same moment ---------------------------------

@pytest.mark.postgres
def test_two_publishes_of_one_policy_at_once_give_one_new_version(race_app: Flask) -> None:
    """Both read version v and publish different rules at once: one is version v + 1, the other is told
    a newer version was published (never a duplicate version, never a 500)."""
    from finance.approval_policy import services as policies
    from finance.approval_policy.models import RoutingPolicy
    from finance.approval_policy.queries import current_policy, rules_of
    from finance.orgs.models import OrgUnit

    def publish(amount: str, based_on: int) -> Any:
        def act(user: User, _req: PaymentRequest) -> Any:
            town = db.session.execute(select(OrgUnit).where(OrgUnit.code == "HL-MK")).scalar_one()
            rules = replace(rules_of(current_policy(town)), major_threshold=Decimal(amount))
            return policies.publish_changes(town, rules, user, based_on=based_on)
        return act

    with race_app.app_context():
        anchor = prepare(State.PENDING, 1)[0]
        for n in range(max(5, repeat_of(race_app) // 5)):
            town = db.session.execute(select(OrgUnit).where(OrgUnit.code == "HL-MK")).scalar_one()
            policy = current_policy(town)
            version = policy.version if policy is not None else 0
            db.session.rollback()
            results = race(race_app, anchor, [("hl_admin", publish(f"{60000 + 2 * n}", version)),
                                              ("hl_admin", publish(f"{60001 + 2 * n}", version))])
            assert sorted(r[0] for r in results) == ["handled", "ok"], results
            versions = db.session.execute(select(RoutingPolicy.version).join(OrgUnit)
                                          .where(OrgUnit.code == "HL-MK")).scalars().all()
            db.session.rollback()
            assert sorted(versions) == sorted(set(versions)) and max(versions) == version + 1

"""What a liaison reads and asks through the API, and what the township answers: attachments (a liaison's
view of one is recorded, as on the pages), questions (问询) and their answers, a village chain's trail
events (keyset on seq) and its verification. The services and queries are the oversight pages'."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

from flask import url_for
from flask_login import current_user
from pydantic import Field
from sqlalchemy import select

import audit
from finance import audit_keys, storage
from finance.api.endpoints_requests import PersonOut, UnitOut, load, unit_out
from finance.api.framework import Created, api
from finance.api.schemas import Day, Out, Page, Schema, Time
from finance.errors import NotFound
from finance.extensions import db
from finance.oversight import queries, services
from finance.oversight.labels import failure_text
from finance.oversight.models import Question
from finance.oversight.verification import verify_chains
from finance.payment_requests.models import Attachment, PaymentRequest
from finance.payment_requests.queries import get_visible
from finance.permissions import Permission, can
from finance.security import send_user_file
from finance.storage import TYPES
from finance.trail import AuditSubject, action_label

TAG_FILES = api.tag("attachments", "附件")
TAG_QUESTIONS = api.tag("questions", "问询")  # 问询: the liaison asks; never 质询, a power of the people's congress
TAG_TRAIL = api.tag("trail", "审计轨迹")
MAX_EVENTS = 200


# --- attachments -----------------------------------------------------------------------------------------
@api.operation("GET", "/attachments/<int:attachment_id>", summary="附件原文件", tag=TAG_FILES,
               produces=tuple(TYPES), description="上传时的原文件。廉情联络员的每次查看都记入该村台账（与网页相同）。")
def get_attachment(attachment_id: int) -> Any:
    """The file as uploaded. A liaison's download is recorded in the village's trail (as on the pages)."""
    att = db.session.get(Attachment, attachment_id)
    req = get_visible(current_user, att.request_id) if att is not None else None
    if att is None or req is None:
        raise NotFound(attachment_id)
    try:
        path = storage.path_for(att.sha256)
    except storage.StorageError:
        raise NotFound(attachment_id) from None
    if not path.exists():
        raise NotFound(attachment_id)
    if can(current_user, Permission.AUDIT_READ, req):
        services.viewed_attachment(current_user, att)
    return send_user_file(path.read_bytes(), content_type=att.content_type, filename=att.filename or "file",
                          fallback_stem=f"sanzi-attachment-{att.id}")


# --- questions -------------------------------------------------------------------------------------------
class QuestionOut(Out):
    id: int
    request_id: int
    text: str
    deadline: Day
    asked_by: PersonOut
    asked_at: Time
    answer: str | None
    answered_at: Time | None
    overdue: bool


class QuestionList(Out):
    items: list[QuestionOut]


class AskIn(Schema):
    text: str = Field(min_length=1, max_length=services.MAX_TEXT)
    deadline: date = Field(description="答复期限（今天起 90 天内）")


class AnswerIn(Schema):
    answer: str = Field(min_length=1, max_length=services.MAX_TEXT)


def question_out(q: Question) -> QuestionOut:
    return QuestionOut(id=q.id, request_id=q.request_id, text=q.text, deadline=q.deadline,
                       asked_by=PersonOut(id=q.asked_by.id, name=q.asked_by.display_name), asked_at=q.created_at,
                       answer=q.answer, answered_at=q.answered_at, overdue=q.overdue)


def _may_see_questions(req: PaymentRequest) -> bool:
    return can(current_user, Permission.AUDIT_READ, req) or can(current_user, Permission.QUESTION_ANSWER, req)


def _question(question_id: int) -> Question:
    question = db.session.get(Question, question_id)
    req = get_visible(current_user, question.request_id) if question is not None else None
    if question is None or req is None or not _may_see_questions(req):
        raise NotFound(question_id)
    return question


@api.operation("GET", "/questions", summary="待答复的问询", tag=TAG_QUESTIONS, response=QuestionList,
               description="乡镇人员：本乡镇申请上未答复的问询；廉情联络员：自己提出的。期限最早的在前。")
def open_questions() -> QuestionList:
    """Unanswered questions: for township staff those on their township's requests, for a liaison those
    they asked; earliest deadline first."""
    return QuestionList(items=[question_out(q) for q in queries.open_questions_for(current_user)])


@api.operation("GET", "/requests/<int:request_id>/questions", summary="申请上的问询", tag=TAG_QUESTIONS,
               response=QuestionList)
def request_questions(request_id: int) -> QuestionList:
    req = load(request_id)
    if not _may_see_questions(req):
        raise NotFound(request_id)
    return QuestionList(items=[question_out(q) for q in queries.questions_on(req)])


@api.operation("POST", "/requests/<int:request_id>/questions", summary="提出问询（廉情联络员）", tag=TAG_QUESTIONS,
               body=AskIn, response=QuestionOut, status=201)
def ask_question(request_id: int, body: AskIn) -> Created:
    req = load(request_id)
    if not can(current_user, Permission.AUDIT_READ, req):
        raise NotFound(request_id)  # as the oversight pages: not there for anyone but a liaison
    question = services.ask_question(current_user, req, body.text, body.deadline)
    return Created(question_out(question), url_for("api.get_question", question_id=question.id))


@api.operation("GET", "/questions/<int:question_id>", summary="问询详情", tag=TAG_QUESTIONS, response=QuestionOut)
def get_question(question_id: int) -> QuestionOut:
    return question_out(_question(question_id))


@api.operation("POST", "/questions/<int:question_id>/answer", summary="答复问询（乡镇）", tag=TAG_QUESTIONS,
               body=AnswerIn, response=QuestionOut, errors=(403, 409))
def answer_question(question_id: int, body: AnswerIn) -> QuestionOut:
    question = _question(question_id)
    services.answer_question(current_user, question, body.answer)
    return question_out(question)


# --- the trail -------------------------------------------------------------------------------------------
class ChainOut(Out):
    chain_id: str
    village: UnitOut
    size: int
    ok: bool


class ChainList(Out):
    items: list[ChainOut]


class EventActor(Out):
    id: int | None
    name: str | None
    role: str | None
    org: str | None


class EventOut(Out):
    """One event of the hash chain, as stored (its hashes can be checked offline)."""

    seq: int
    event_id: str
    at: Time
    actor: EventActor
    action: str
    action_label: str
    subject_type: str
    subject_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str | None
    attachments: list[str]
    request_id: str | None = Field(description="请求编号；经 API 的操作为 api-t<令牌编号>-…")
    prev_hash: str
    entry_hash: str


class FailureOut(Out):
    seq: int
    code: str
    kind: str
    detail: str


class VerificationOut(Out):
    chain_id: str
    ok: bool
    size: int
    head_hash: str
    checkpoints_checked: int
    failures: list[FailureOut]


class EventsQuery(Schema):
    after: Annotated[int, Field(ge=0, le=2**31 - 1, description="从此序号之后开始（上一页的 next）")] = 0
    limit: Annotated[int, Field(ge=1, le=MAX_EVENTS)] = 50


def _village(chain_id: str) -> Any:
    village = queries.village_of_chain(current_user, chain_id)
    if village is None:
        raise NotFound(chain_id)
    return village


def _obj(text: str | None) -> dict[str, Any] | None:
    value = json.loads(text) if text else None
    return value if isinstance(value, dict) else None


@api.operation("GET", "/chains", summary="可查看的台账及校验状态", tag=TAG_TRAIL, response=ChainList,
               description="此联络员可查看的各村台账，每条当场完整校验。")
def list_chains() -> ChainList:
    """The villages' chains this liaison reads, each verified end to end now."""
    villages = queries.liaison_villages(current_user)
    ids = [audit.village_chain(v.code) for v in villages]
    reports = verify_chains(ids)
    return ChainList(items=[ChainOut(chain_id=c, village=unit_out(v), size=reports[c].size, ok=reports[c].ok)
                            for v, c in zip(villages, ids, strict=True)])


@api.operation("GET", "/chains/<chain_id>/events", summary="台账事件", tag=TAG_TRAIL, query=EventsQuery,
               response=Page[EventOut], description="按序号排列的事件，每次 limit 条，从 after 之后开始。")
def chain_events(chain_id: str, query: EventsQuery) -> Page[EventOut]:
    """The chain's events in order, `limit` at a time after seq `after`."""
    _village(chain_id)
    rows = list(db.session.execute(
        select(audit.Event).where(audit.Event.chain_id == chain_id, audit.Event.seq > query.after)
        .order_by(audit.Event.seq, audit.Event.id).limit(query.limit + 1)).scalars())
    more = len(rows) > query.limit
    rows = rows[:query.limit]
    items = [EventOut(
        seq=e.seq, event_id=e.event_id, at=e.occurred_at,
        actor=EventActor(id=e.actor_id, name=e.actor_name, role=e.actor_role, org=e.actor_org),
        action=e.action, action_label=action_label(e.action), subject_type=e.subject_type, subject_id=e.subject_id,
        before=_obj(e.before), after=_obj(e.after), reason=e.reason, attachments=json.loads(e.attachments or "[]"),
        request_id=e.http_request_id, prev_hash=e.prev_hash, entry_hash=e.entry_hash) for e in rows]
    return Page[EventOut](items=items, next=str(rows[-1].seq) if more and rows else None)


@api.operation("GET", "/chains/<chain_id>/verification", summary="台账校验结果", tag=TAG_TRAIL,
               response=VerificationOut, description="当场校验每个链接、哈希和签名检查点，并用事件重放业务数据。")
def chain_verification(chain_id: str) -> VerificationOut:
    """Every link, hash and checkpoint of the chain checked now, and the business rows replayed."""
    _village(chain_id)
    report = verify_chains([chain_id])[chain_id]
    return VerificationOut(chain_id=chain_id, ok=report.ok, size=report.size, head_hash=report.head_hash,
                           checkpoints_checked=report.checkpoints_checked,
                           failures=[FailureOut(seq=f.seq, code=f.code, kind=f.kind, detail=failure_text(f))
                                     for f in report.failures])


class CheckpointOut(Out):
    """A signed checkpoint (Ed25519 over chain, size, head hash and time): keep it off the server; the
    offline verifier checks the chain against it."""

    type: str
    chain: str
    size: int
    head: str
    at: str
    key_id: str
    signature: str


class CheckpointList(Out):
    items: list[CheckpointOut]


class ExportIn(Schema):
    pass


@api.operation("POST", "/chains/<chain_id>/checkpoints", summary="下载签名检查点", tag=TAG_TRAIL, body=ExportIn,
               response=CheckpointList,
               description="先为当前链头签发新的检查点，再返回该台账的全部签名检查点（最新的在前）；下载本身记入台账。")
def export_checkpoints(chain_id: str, body: ExportIn) -> CheckpointList:
    village = _village(chain_id)
    services.exported(current_user, village, "checkpoints", AuditSubject.CHAIN, chain_id)
    audit_keys.checkpoint(chain_id)
    rows = queries.checkpoints_of(chain_id)
    return CheckpointList(items=[CheckpointOut(**audit.SignedCheckpoint.from_row(r).to_json()) for r in rows])

"""Payment requests through the API: create, read, edit, attach files, submit, approve, return, reject,
withdraw; the list with the pages' filters and keyset pages; the to-do list; the account subjects. Each
endpoint calls the service the pages call (finance.payment_requests.services), as the token's user."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from flask import abort, current_app, url_for
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import Field
from pydantic.json_schema import SkipJsonSchema
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from finance import keyset, storage
from finance.api.framework import Created, api
from finance.api.problems import Problem, ProblemType
from finance.api.schemas import Day, Id, Money, MoneyIn, Out, Page, Schema, Time
from finance.attachment_kinds import AttachmentKind
from finance.controls import services as controls
from finance.documents.views import approval_form_response
from finance.errors import NotFound
from finance.extensions import db
from finance.money import amount_in_words
from finance.orgs.models import AccountSubject
from finance.payment_requests import services
from finance.payment_requests.changes import changes_since_last_round
from finance.payment_requests.filters import FilterForm, read_filters
from finance.payment_requests.models import MAX_ATTENDANCE, MAX_LENGTH, Attachment, PaymentRequest, RequestAction
from finance.payment_requests.queries import get_visible, inbox_for, search
from finance.permissions import Permission, acting_role, can, villages_in_scope
from finance.roles import OrgKind, Role
from finance.workflow import State, actions_open

TAG = api.tag("requests", "支出申请")


# --- answers ---------------------------------------------------------------------------------------------
class UnitOut(Out):
    id: int
    code: str
    name: str


class PersonOut(Out):
    id: int
    name: str


class SubjectOut(Out):
    id: int
    code: str
    name: str


class AttachmentOut(Out):
    id: int
    kind: str
    kind_label: str
    filename: str
    content_type: str
    size: int
    sha256: str
    created_at: Time


class ActionOut(Out):
    """One step of the request's history."""

    round: int
    step: int | None
    action: str
    action_label: str
    from_state: str
    to_state: str
    actor: PersonOut
    role: str
    comment: str | None
    at: Time


class PaymentOut(Out):
    bank_reference: str
    value_date: Day
    amount: Money
    payee_name: str
    payee_account: str
    payer_account: str
    paid_at: Time
    reconciled_at: Time | None


class RequestSummary(Out):
    """A request as lists show it."""

    id: int
    number: str | None
    village: UnitOut
    state: str
    state_label: str
    payee_name: str
    amount: Money | None
    purpose: str
    waiting_role: str | None
    created_at: Time
    waiting_since: Time | None


class FieldChangeOut(Out):
    field: str
    label: str
    old: str
    new: str


class AttachmentChangeOut(Out):
    kind: str = Field(description="附件类型（名称）")
    filename: str


class RoundChangesOut(Out):
    """What changed at the latest resubmission against the round before (issue 16 item 1)."""

    round: int
    fields: list[FieldChangeOut]
    attachments_added: list[AttachmentChangeOut]
    attachments_removed: list[AttachmentChangeOut]


def round_changes_out(req: PaymentRequest) -> RoundChangesOut | None:
    changes = changes_since_last_round(req)
    if changes is None:
        return None
    return RoundChangesOut(
        round=changes.round,
        fields=[FieldChangeOut(field=c.name, label=c.label, old=c.old, new=c.new) for c in changes.fields],
        attachments_added=[AttachmentChangeOut(kind=a.kind, filename=a.filename) for a in changes.added],
        attachments_removed=[AttachmentChangeOut(kind=a.kind, filename=a.filename) for a in changes.removed],
    )


class RequestOut(RequestSummary):
    """A request with everything the request's page shows."""

    version: int
    step: int
    round: int
    payee_bank: str
    payee_account: str
    amount_in_words: str | None
    subject: SubjectOut | None
    fund_source: str
    budget_line: str
    meeting_date: Day | None
    meeting_attendance: int | None
    meeting_amount: Money | None
    requester: PersonOut
    submitted_at: Time | None
    updated_at: Time
    attachments: list[AttachmentOut]
    history: list[ActionOut]
    may: list[str] = Field(description="此用户现在可执行的操作")
    missing: dict[str, str] = Field(description="提交前还缺少的内容（字段 → 说明）")
    payment: PaymentOut | None
    changes_since_last_round: RoundChangesOut | None = Field(
        default=None, description="重新提交的申请：与上一轮相比改动的字段（原值 → 新值）和增删的附件")


def unit_out(unit: Any) -> UnitOut:
    return UnitOut(id=unit.id, code=unit.code, name=unit.name)


def attachment_out(att: Attachment) -> AttachmentOut:
    return AttachmentOut(id=att.id, kind=att.kind.value, kind_label=att.kind.label, filename=att.filename,
                         content_type=att.content_type, size=att.size, sha256=att.sha256, created_at=att.created_at)


def summary_out(req: PaymentRequest) -> RequestSummary:
    return RequestSummary(**_summary_fields(req))


def _summary_fields(req: PaymentRequest) -> dict[str, Any]:
    return {"id": req.id, "number": req.number, "village": unit_out(req.village), "state": req.state.value,
            "state_label": req.state.label, "payee_name": req.payee_name, "amount": req.amount,
            "purpose": req.purpose, "waiting_role": req.waiting_role.value if req.waiting_role else None,
            "created_at": req.created_at, "waiting_since": req.waiting_since}


def _action_out(a: RequestAction) -> ActionOut:
    return ActionOut(round=a.round, step=a.step, action=a.action.value, action_label=a.action.label,
                     from_state=a.from_state.value, to_state=a.to_state.value,
                     actor=PersonOut(id=a.actor.id, name=a.actor.display_name), role=a.actor_role.value,
                     comment=a.comment, at=a.created_at)


def may_take(req: PaymentRequest) -> list[str]:
    return [a.value for a in actions_open(services.facts(req)) if acting_role(current_user, req, a) is not None]


def request_out(req: PaymentRequest) -> RequestOut:
    from finance.payments.queries import payment_of

    pay = payment_of(req)
    payment = None
    if pay is not None:
        payment = PaymentOut(bank_reference=pay.bank_reference, value_date=pay.value_date, amount=pay.amount,
                             payee_name=pay.payee_name, payee_account=pay.payee_account,
                             payer_account=pay.payer_account, paid_at=pay.created_at, reconciled_at=pay.reconciled_at)
    subject = req.subject
    return RequestOut(
        **_summary_fields(req), version=req.version, step=req.step, round=req.round, payee_bank=req.payee_bank,
        payee_account=req.payee_account,
        amount_in_words=amount_in_words(req.amount) if req.amount is not None else None,
        subject=SubjectOut(id=subject.id, code=subject.code, name=subject.name) if subject else None,
        fund_source=req.fund_source, budget_line=req.budget_line, meeting_date=req.meeting_date,
        meeting_attendance=req.meeting_attendance, meeting_amount=req.meeting_amount,
        requester=PersonOut(id=req.requester.id, name=req.requester.display_name), submitted_at=req.submitted_at,
        updated_at=req.updated_at, attachments=[attachment_out(a) for a in req.attachments],
        history=[_action_out(a) for a in req.actions], may=may_take(req),
        missing=services.missing_for_submit(req) if req.state.editable else {}, payment=payment,
        changes_since_last_round=round_changes_out(req),
    )


# --- inputs ----------------------------------------------------------------------------------------------
def _text(name: str) -> Any:
    return Field(default="", max_length=MAX_LENGTH[name])


class RequestIn(Schema):
    """The request's fields. A draft may leave any of them empty; submitting needs them (see `missing`)."""

    payee_name: str = _text("payee_name")
    payee_bank: str = _text("payee_bank")
    payee_account: str = _text("payee_account")
    amount: MoneyIn | None = None
    purpose: str = _text("purpose")
    subject_id: Id | None = None
    fund_source: str = _text("fund_source")
    budget_line: str = _text("budget_line")
    meeting_date: date | None = None
    meeting_attendance: Annotated[int, Field(ge=1, le=MAX_ATTENDANCE)] | None = None
    meeting_amount: MoneyIn | None = None
    village_id: Id | None = Field(default=None, description="新建时：报账的村（报账员只有一个村时可省略）")

    def service_input(self) -> services.RequestInput:
        return services.RequestInput(
            payee_name=self.payee_name.strip(), payee_bank=self.payee_bank.strip(),
            payee_account=" ".join(self.payee_account.split()),
            amount=Decimal(self.amount) if self.amount is not None else None, purpose=self.purpose.strip(),
            subject_id=self.subject_id, fund_source=self.fund_source.strip(), budget_line=self.budget_line.strip(),
            meeting_date=self.meeting_date, meeting_attendance=self.meeting_attendance,
            meeting_amount=Decimal(self.meeting_amount) if self.meeting_amount is not None else None,
        )


Version = Annotated[int, Field(ge=1, le=2**31 - 1, description="读取时的 version：申请在此之后有变动则拒绝（409）")]


class SubmitIn(Schema):
    version: Version | None = None


class ApproveIn(Schema):
    comment: str | None = Field(default=None, max_length=services.MAX_COMMENT)
    version: Version | None = None


class ReasonIn(Schema):
    reason: str = Field(max_length=services.MAX_COMMENT, description="理由（必填）")
    version: Version | None = None


class AttachmentForm(Schema):
    kind: Annotated[str, Field(json_schema_extra={"enum": [k.value for k in AttachmentKind.uploadable()]})]


class RequestFilters(Schema):
    """The filters of the requests page (its list and the liaison's CSV export). A query parameter is absent
    or has a value: never null (SkipJsonSchema keeps None out of the document)."""

    state: SkipJsonSchema[None] | State = None
    village: SkipJsonSchema[None] | Id = None
    date_from: SkipJsonSchema[None] | date = None
    date_to: SkipJsonSchema[None] | date = None
    amount_min: SkipJsonSchema[None] | MoneyIn = None
    amount_max: SkipJsonSchema[None] | MoneyIn = None
    payee: SkipJsonSchema[None] | str = Field(default=None, max_length=MAX_LENGTH["payee_name"])


class ListQuery(RequestFilters):
    """The filters of the requests page, and the keyset cursor of its pages."""

    after: SkipJsonSchema[None] | str = Field(default=None, max_length=40, description="上一页返回的 next")
    limit: Annotated[int, Field(ge=1, le=100)] = 20


class TodoQuery(Schema):
    after: SkipJsonSchema[None] | str = Field(default=None, max_length=40, description="上一页返回的 next")
    limit: Annotated[int, Field(ge=1, le=100)] = 20


class SubjectList(Out):
    items: list[SubjectOut]


class AttachmentList(Out):
    items: list[AttachmentOut]


# --- endpoints -------------------------------------------------------------------------------------------
def load(request_id: int) -> PaymentRequest:
    req = get_visible(current_user, request_id)
    if req is None:
        raise NotFound(request_id)
    return req


def _village_for(body: RequestIn) -> Any:
    villages = [a.org_unit for a in current_user.assignments
                if a.role == Role.ACCOUNTANT and a.org_unit.kind == OrgKind.VILLAGE]
    if body.village_id is not None:
        village = next((v for v in villages if v.id == body.village_id), None)
        if village is None:
            raise Problem(ProblemType.INVALID_INPUT, errors={"village_id": _("请选择您报账的村。")})
        return village
    if not villages:
        abort(403)
    if len(villages) > 1:
        raise Problem(ProblemType.INVALID_INPUT, errors={"village_id": _("您在多个村报账，请指定村。")})
    return villages[0]


@api.operation("GET", "/subjects", summary="会计科目", tag=TAG, response=SubjectList,
               description="申请可以选用的会计科目（subject_id）。")
def list_subjects() -> SubjectList:
    """The active account subjects a request may name (`subject_id`)."""
    rows = db.session.execute(select(AccountSubject).where(AccountSubject.active.is_(True))
                              .order_by(AccountSubject.code)).scalars()
    return SubjectList(items=[SubjectOut(id=s.id, code=s.code, name=s.name) for s in rows])


@api.operation("GET", "/requests", summary="支出申请列表", tag=TAG, query=ListQuery, response=Page[RequestSummary],
               errors=(404,),
               description="管辖范围内的申请，最新的在前；筛选条件与申请列表页相同；"
                           "next 为下一页的游标（作为 after 传入）。")
def list_requests(query: ListQuery) -> Page[RequestSummary]:
    """Requests in the user's scope, newest first, with the requests page's filters; `next` is the cursor
    of the next page."""
    if not can(current_user, Permission.REQUEST_READ):
        raise NotFound("requests")  # the district admin reads no requests (as the requests page: 404)
    given = {k: str(v) for k, v in query.model_dump(mode="json", exclude={"after", "limit"}).items()
             if v is not None}
    filters = read_filters(FilterForm(formdata=MultiDict(given)), villages_in_scope(current_user))
    if filters.errors:
        raise Problem(ProblemType.INVALID_INPUT, next(iter(filters.errors.values())), filters.errors)
    rows = search(current_user, **filters.search_args(), after=keyset.decode(query.after), limit=query.limit + 1)
    more = len(rows) > query.limit
    rows = rows[:query.limit]
    cursor = keyset.encode(rows[-1].created_at, rows[-1].id) if more and rows else None
    return Page[RequestSummary](items=[summary_out(r) for r in rows], next=cursor)


@api.operation("GET", "/todo", summary="待办", tag=TAG, query=TodoQuery, response=Page[RequestSummary],
               description="轮到此用户办理的事项，等待最久的在前（与“待办”页相同）。")
def todo(query: TodoQuery) -> Page[RequestSummary]:
    """The user's to-do list, oldest waiting first (the 待办 page)."""
    rows = inbox_for(current_user, after=keyset.decode(query.after), limit=query.limit + 1)
    more = len(rows) > query.limit
    rows = rows[:query.limit]
    last = rows[-1] if rows else None
    cursor = keyset.encode(last.waiting_since, last.id) if more and last and last.waiting_since else None
    return Page[RequestSummary](items=[summary_out(r) for r in rows], next=cursor)


@api.operation("POST", "/requests", summary="新建支出申请（草稿）", tag=TAG, body=RequestIn, response=RequestOut,
               status=201, errors=(403,))
def create_request(body: RequestIn) -> Created:
    village = _village_for(body)
    req = services.create_draft(current_user, village, body.service_input())
    return Created(request_out(req), url_for("api.get_request", request_id=req.id))


@api.operation("GET", "/requests/<int:request_id>", summary="支出申请详情", tag=TAG, response=RequestOut)
def get_request(request_id: int) -> RequestOut:
    return request_out(load(request_id))


@api.operation("PUT", "/requests/<int:request_id>", summary="修改草稿或被退回的申请", tag=TAG, body=RequestIn,
               response=RequestOut, errors=(403, 409), description="整体替换各字段：未给出的字段将被清空。")
def edit_request(request_id: int, body: RequestIn) -> RequestOut:
    """Replaces the fields of a draft or a returned request (every field: one left out is emptied)."""
    req = load(request_id)
    services.update_draft(current_user, req, body.service_input())
    return request_out(req)


@api.operation("POST", "/requests/<int:request_id>/attachments", summary="上传附件", tag=TAG,
               form=AttachmentForm, files=("file",), response=AttachmentList, status=201, errors=(403, 409),
               description="multipart/form-data：kind（附件类型）与 file（可多个，同一类型）。")
def upload_attachments(request_id: int, form: AttachmentForm, files: dict[str, list[tuple[str, bytes]]]
                       ) -> Created:
    """Attach one or more files of one kind (multipart/form-data: `kind`, `file`)."""
    req = load(request_id)
    kind = AttachmentKind.parse(form.kind)
    services.add_attachments(current_user, req, kind, files["file"])
    # The posted files as attached now (one sent again was already there: the same row answers).
    posted = {storage.digest(data) for _name, data in files["file"]}
    rows = [a for a in req.attachments if a.sha256 in posted and a.kind == kind]
    return Created(AttachmentList(items=[attachment_out(a) for a in rows]),
                   url_for("api.get_request", request_id=req.id))


@api.operation("DELETE", "/requests/<int:request_id>/attachments/<int:attachment_id>", summary="删除附件",
               tag=TAG, status=204, errors=(403, 409))
def delete_attachment(request_id: int, attachment_id: int) -> Any:
    req = load(request_id)
    att = next((a for a in req.attachments if a.id == attachment_id), None)
    if att is None:
        raise NotFound(attachment_id)
    services.remove_attachment(current_user, att)
    return current_app.response_class(status=204)


def _act(request_id: int, call: Any) -> RequestOut:
    req = load(request_id)
    call(req)
    return request_out(req)


@api.operation("POST", "/requests/<int:request_id>/submit", summary="提交（或重新提交）", tag=TAG, body=SubmitIn,
               response=RequestOut, errors=(403, 409))
def submit_request(request_id: int, body: SubmitIn) -> RequestOut:
    return _act(request_id, lambda req: services.submit(current_user, req, version=body.version))


@api.operation("POST", "/requests/<int:request_id>/approve", summary="审批通过当前步骤", tag=TAG, body=ApproveIn,
               response=RequestOut, errors=(403, 409))
def approve_request(request_id: int, body: ApproveIn) -> RequestOut:
    return _act(request_id, lambda req: services.approve(current_user, req, body.comment, version=body.version))


@api.operation("POST", "/requests/<int:request_id>/return", summary="退回修改", tag=TAG, body=ReasonIn,
               response=RequestOut, errors=(403, 409))
def return_request(request_id: int, body: ReasonIn) -> RequestOut:
    return _act(request_id, lambda req: services.return_for_revision(current_user, req, body.reason,
                                                                     version=body.version))


@api.operation("POST", "/requests/<int:request_id>/reject", summary="驳回", tag=TAG, body=ReasonIn,
               response=RequestOut, errors=(403, 409))
def reject_request(request_id: int, body: ReasonIn) -> RequestOut:
    return _act(request_id, lambda req: services.reject(current_user, req, body.reason, version=body.version))


@api.operation("POST", "/requests/<int:request_id>/withdraw", summary="撤回", tag=TAG, body=SubmitIn,
               response=RequestOut, errors=(403, 409))
def withdraw_request(request_id: int, body: SubmitIn) -> RequestOut:
    return _act(request_id, lambda req: services.withdraw(current_user, req, version=body.version))



@api.operation("GET", "/requests/<int:request_id>/approval-form.pdf", summary="打印支付审批单（PDF）", tag=TAG,
               produces=("application/pdf",), description="一页 A4 的支付审批单，含二维码；打印本身记入台账。")
def approval_form_pdf(request_id: int) -> Any:
    return approval_form_response(load(request_id))


class InvoiceIn(Schema):
    """The facts of an invoice photo, as printed on it (a 发票 cannot be submitted without them)."""

    number: str = Field(max_length=40, description="发票号码（8 位，或数电票 20 位）")
    code: str = Field(default="", max_length=20, description="发票代码（8 位号码时填写，数电票留空）")
    invoice_date: date = Field(description="开票日期")
    seller: str = Field(max_length=100, description="销售方名称")
    amount: MoneyIn = Field(description="价税合计")


class InvoiceOut(Out):
    attachment_id: int
    number: str
    code: str | None
    invoice_date: Day
    seller: str
    amount: Money


@api.operation("PUT", "/attachments/<int:attachment_id>/invoice", summary="录入发票信息", tag=TAG, body=InvoiceIn,
               response=InvoiceOut, errors=(403,),
               description="为草稿或被退回申请的“发票”附件录入（或更正）票面信息：号码、代码、开票日期、销售方、价税合计。")
def record_invoice(attachment_id: int, body: InvoiceIn) -> InvoiceOut:
    att = db.session.get(Attachment, attachment_id)
    if att is None or att.kind != AttachmentKind.INVOICE or get_visible(current_user, att.request_id) is None:
        raise NotFound(attachment_id)
    fact = controls.record_invoice(current_user, att, controls.InvoiceInput(
        number=body.number, code=body.code, invoice_date=body.invoice_date, seller=body.seller, amount=body.amount))
    return InvoiceOut(attachment_id=att.id, number=fact.number, code=fact.code, invoice_date=fact.invoice_date,
                      seller=fact.seller, amount=fact.amount)

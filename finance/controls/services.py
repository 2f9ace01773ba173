"""State changes of the controls: the only writers of finance/controls/models.py. Each change is one
function that checks permission and input, changes the rows and records one audit event (finance.trail)
in the same transaction. Nothing here commits: the view, CLI command or importer that called it does.

Bad input raises ControlError (a Chinese message, and `errors` by field) before anything is written."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from finance import storage, trail
from finance.attachment_kinds import AttachmentKind
from finance.auth.models import RoleAssignment, User
from finance.controls import images
from finance.controls.models import (
    Contract,
    ControlPolicy,
    ImageFingerprint,
    Instalment,
    InvoiceFact,
    ListAction,
    MatterKind,
    NegativeItem,
    OriginalsReceipt,
    RelatedAccount,
    RelatedPerson,
    Relation,
    RequestControl,
    Resolution,
)
from finance.controls.normalise import (
    NormaliseError,
    invoice_key,
    name_key,
    parse_accounts,
    parse_id_number,
    parse_invoice_code,
    parse_invoice_number,
)
from finance.controls.policy import ControlRules
from finance.controls.queries import control_rules
from finance.db import utcnow
from finance.errors import Forbidden, InputError
from finance.extensions import db
from finance.money import AmountError, format_amount, parse_amount
from finance.orgs.models import OrgUnit
from finance.payment_requests.models import Attachment, PaymentRequest
from finance.permissions import Permission, acting_role, can
from finance.roles import OrgKind, Role
from finance.timefmt import today_local
from finance.trail import AuditAction, AuditSubject
from finance.workflow import TABLE, Action

MAX_ATTENDANCE = 100_000


class ControlError(InputError):
    """Input the user must correct; `errors` maps field names to messages. Nothing was saved."""


def _raise_if(errors: dict[str, str]) -> None:
    if errors:
        first = next(iter(errors.values()))
        raise ControlError(first if len(errors) == 1 else _("还有内容需要修改，请检查标红的项目。"), errors)


def _amount(text: str | Decimal | None, field: str, errors: dict[str, str], label: str) -> Decimal | None:
    if isinstance(text, Decimal):
        text = f"{text:f}"
    try:
        return parse_amount(text, Decimal(current_app.config["MAX_AMOUNT"]) * 100)
    except AmountError as exc:
        errors[field] = _("%(label)s：%(error)s", label=label, error=exc)
        return None


def _date(value: date | str | None, field: str, errors: dict[str, str], label: str, *, required: bool = True,
          not_after_today: bool = True) -> date | None:
    if isinstance(value, str):
        text = value.strip()
        if not text:
            value = None
        else:
            try:
                value = date.fromisoformat(text)
            except ValueError:
                errors[field] = _("%(label)s格式不正确，请写成 2026-03-01 这样。", label=label)
                return None
    if value is None:
        if required:
            errors[field] = _("请填写%(label)s。", label=label)
        return None
    if not_after_today and value > today_local():
        errors[field] = _("%(label)s不能晚于今天。", label=label)
        return None
    return value


def _text(value: str | None, field: str, errors: dict[str, str], label: str, limit: int,
          required: bool = True) -> str:
    text = (value or "").strip()
    if required and not text:
        errors[field] = _("请填写%(label)s。", label=label)
    elif len(text) > limit:
        errors[field] = _("%(label)s最多 %(n)d 个字。", label=label, n=limit)
    return text


def _editable_request(user: User, req: PaymentRequest) -> None:
    if not req.state.editable:
        raise ControlError(_("只有草稿或退回的申请可以修改。"))
    if acting_role(user, req, Action.EDIT) is None:
        raise Forbidden(Action.EDIT)


# --- invoice facts ---------------------------------------------------------------------------------------

@dataclass
class InvoiceInput:
    """An invoice's facts as typed beside its photo."""

    number: str = ""
    code: str = ""  # 发票代码, for an 8-digit number
    invoice_date: date | str | None = None
    seller: str = ""
    amount: str | Decimal | None = None


def invoice_summary(fact: InvoiceFact) -> dict[str, Any]:
    return {"attachment_id": fact.attachment_id, "number": fact.number, "code": fact.code,
            "date": fact.invoice_date, "seller": fact.seller, "amount": fact.amount}


def record_invoice(user: User, att: Attachment, data: InvoiceInput) -> InvoiceFact:
    """Record (or correct) the facts of an invoice photo of a draft or returned request: number (8 digits
    with its 10/12-digit code, or a 20-digit 数电票 number), date (not in the future), seller and amount
    (价税合计). The photo's perceptual hash is stored at the same time. One `invoice_record` event."""
    req = att.request
    _editable_request(user, req)
    if att.kind != AttachmentKind.INVOICE:
        raise ControlError(_("只有“发票”类附件需要录入票面信息；收据、签收单请选择对应类型。"))
    errors: dict[str, str] = {}
    number = code = None
    try:
        number = parse_invoice_number(data.number)
    except NormaliseError as exc:
        errors["number"] = str(exc)
    try:
        code = parse_invoice_code(data.code)
    except NormaliseError as exc:
        errors["code"] = str(exc)
    if number is not None and len(number) == 20 and code:
        errors["code"] = _("数电票只有 20 位号码，没有发票代码，请留空。")
    invoice_date = _date(data.invoice_date, "invoice_date", errors, _("开票日期"))
    seller = _text(data.seller, "seller", errors, _("销售方名称"), 100)
    amount = _amount(data.amount, "amount", errors, _("价税合计"))
    _raise_if(errors)
    assert number is not None and invoice_date is not None and amount is not None
    fact = db.session.execute(select(InvoiceFact).where(InvoiceFact.attachment_id == att.id)).scalar_one_or_none()
    before = invoice_summary(fact) if fact is not None else None
    now = utcnow()
    if fact is None:
        fact = InvoiceFact(attachment_id=att.id, request_id=req.id, recorded_by_id=user.id, created_at=now)
        db.session.add(fact)
    fact.number, fact.code, fact.invoice_date, fact.amount = number, code, invoice_date, amount
    fact.seller, fact.seller_key = seller, name_key(seller)
    fact.dup_key = invoice_key(number, code, seller)
    fact.recorded_by_id, fact.updated_at = user.id, now
    db.session.flush()
    fingerprint_attachments(req)
    trail.record(village=req.village, user=user, role=Role.ACCOUNTANT, action=AuditAction.INVOICE_RECORD,
                 subject_type=AuditSubject.PAYMENT_REQUEST,
                 subject_id=req.id, before={"invoice": before} if before else None,
                 after={"invoice": invoice_summary(fact)}, attachments=(att.sha256,))
    return fact


def fingerprint_attachments(req: PaymentRequest) -> list[ImageFingerprint]:
    """Store the perceptual hash of each voucher photo of `req` that has none yet. Derived from the stored
    bytes (which the trail names by SHA-256), so it is a cache and records no event of its own."""
    have = set(db.session.execute(
        select(ImageFingerprint.attachment_id).where(ImageFingerprint.request_id == req.id)).scalars())
    made = []
    for att in req.attachments:
        if att.id in have or not att.kind.voucher or not att.content_type.startswith("image/"):
            continue
        try:
            data = storage.path_for(att.sha256).read_bytes()
        except (OSError, storage.StorageError):
            continue  # the file is missing from this server: nothing to compare
        phash = images.fingerprint(data)
        if phash is None:
            continue
        row = ImageFingerprint(attachment_id=att.id, request_id=req.id, sha256=att.sha256, phash=phash)
        db.session.add(row)
        made.append(row)
    if made:
        db.session.flush()
    return made


# --- the related-persons register ------------------------------------------------------------------------

@dataclass
class PersonInput:
    name: str = ""
    relation: str = ""
    id_number: str = ""
    accounts: str = ""  # separated by ; or new lines
    note: str = ""


def person_summary(person: RelatedPerson) -> dict[str, Any]:
    return {"official": person.official.username, "name": person.name, "relation": person.relation.value,
            "id_number": person.id_number, "accounts": [a.account for a in person.accounts],
            "note": person.note, "active": person.active}


def official_by_username(username: str) -> User:
    """The official a register line names (EXCHANGE.md §3 干部用户名); ControlError when there is none."""
    name = (username or "").strip()
    user = db.session.execute(select(User).where(User.username == name.lower())).scalar_one_or_none() if name \
        else None
    if user is None or not user.assignments:
        raise ControlError(_("干部用户名“%(username)s”不存在，请先在“用户与角色”中建立此人。", username=name),
                           {"official": _("没有这个干部。")})
    return user


def _require_register_manager(by: User | None, official: User) -> None:
    """The district admin over one of the official's units keeps his register (None: a CLI import)."""
    if by is None:
        return
    if not any(can(by, Permission.ORG_MANAGE, a.org_unit) for a in official.assignments):
        raise Forbidden(Permission.ORG_MANAGE)


def _person_fields(data: PersonInput, *, self_line: bool) -> tuple[str, Relation, str | None, list[str], str]:
    errors: dict[str, str] = {}
    name = _text(data.name, "name", errors, _("姓名"), 64)
    relation = Relation.SELF
    if not self_line:
        try:
            relation = Relation(data.relation)
        except ValueError:
            errors["relation"] = _("请选择关系。")
    id_number = None
    if (data.id_number or "").strip():
        try:
            id_number = parse_id_number(data.id_number)
        except NormaliseError as exc:
            errors["id_number"] = str(exc)
    accounts: list[str] = []
    try:
        accounts = parse_accounts(data.accounts)
    except NormaliseError as exc:
        errors["accounts"] = str(exc)
    if "id_number" not in errors and "accounts" not in errors and id_number is None and not accounts:
        errors["accounts"] = _("请至少填写身份证号或一个银行账号：登记只按身份证号和账号比对，从不按姓名。")
    note = _text(data.note, "note", errors, _("备注"), 500, required=False)
    _raise_if(errors)
    return name, relation, id_number, accounts, note


def _set_accounts(person: RelatedPerson, accounts: list[str]) -> None:
    keep = [a for a in person.accounts if a.account in accounts]
    person.accounts = keep + [RelatedAccount(account=a) for a in accounts if a not in {k.account for k in keep}]


def add_related_person(by: User | None, official: User, data: PersonInput) -> RelatedPerson:
    """A new line of the register for `official` (not 本人: that is `set_own_identity`)."""
    _require_register_manager(by, official)
    name, relation, id_number, accounts, note = _person_fields(data, self_line=False)
    if relation == Relation.SELF:
        return set_own_identity(by, official, data)
    now = utcnow()
    person = RelatedPerson(official=official, name=name, relation=relation, id_number=id_number, note=note,
                           active=True, created_by_id=by.id if by else None, created_at=now, updated_at=now)
    _set_accounts(person, accounts)
    db.session.add(person)
    db.session.flush()
    trail.record(village=None, user=by, role=Role.ADMIN if by else None, action=AuditAction.REGISTER_ADD,
                 subject_type=AuditSubject.RELATED_PERSON, subject_id=person.id, after=person_summary(person))
    return person


def update_related_person(by: User | None, person: RelatedPerson, data: PersonInput) -> RelatedPerson | None:
    """Correct a line; returns None when nothing changed (no event)."""
    _require_register_manager(by, person.official)
    name, relation, id_number, accounts, note = _person_fields(data, self_line=person.relation == Relation.SELF)
    before = person_summary(person)
    person.name, person.relation, person.id_number, person.note = name, relation, id_number, note
    _set_accounts(person, accounts)
    after = person_summary(person)
    if after == before:
        return None
    changed = [k for k in after if after[k] != before[k]]
    person.updated_at = utcnow()
    db.session.flush()
    trail.record(village=None, user=by, role=Role.ADMIN if by else None, action=AuditAction.REGISTER_UPDATE,
                 subject_type=AuditSubject.RELATED_PERSON, subject_id=person.id, before={k: before[k] for k in changed},
                 after={k: after[k] for k in changed})
    return person


def remove_related_person(by: User | None, person: RelatedPerson, reason: str = "") -> None:
    """Take a line off the register. It stays, inactive, with its history."""
    _require_register_manager(by, person.official)
    if not person.active:
        return
    person.active = False
    person.updated_at = utcnow()
    db.session.flush()
    trail.record(village=None, user=by, role=Role.ADMIN if by else None, action=AuditAction.REGISTER_REMOVE,
                 subject_type=AuditSubject.RELATED_PERSON, subject_id=person.id, before={"active": True},
                 after={"active": False}, reason=(reason or "").strip() or None)


def own_identity(official: User) -> RelatedPerson | None:
    return db.session.execute(select(RelatedPerson).where(
        RelatedPerson.official_id == official.id, RelatedPerson.relation == Relation.SELF,
        RelatedPerson.active.is_(True))).scalars().first()


def set_own_identity(by: User | None, official: User, data: PersonInput) -> RelatedPerson:
    """The official's own 身份证号 and accounts (part of his user record, EXCHANGE.md §2), kept as his
    本人 line of the register so that one lookup covers him and his relatives."""
    if not (data.name or "").strip():
        data = PersonInput(name=official.display_name, relation=Relation.SELF.value, id_number=data.id_number,
                           accounts=data.accounts, note=data.note)
    existing = own_identity(official)
    if existing is not None:
        return update_related_person(by, existing, data) or existing
    _require_register_manager(by, official)
    name, _rel, id_number, accounts, note = _person_fields(data, self_line=True)
    now = utcnow()
    person = RelatedPerson(official=official, name=name, relation=Relation.SELF, id_number=id_number, note=note,
                           active=True, created_by_id=by.id if by else None, created_at=now, updated_at=now)
    _set_accounts(person, accounts)
    db.session.add(person)
    db.session.flush()
    trail.record(village=None, user=by, role=Role.ADMIN if by else None, action=AuditAction.REGISTER_ADD,
                 subject_type=AuditSubject.RELATED_PERSON, subject_id=person.id, after=person_summary(person))
    return person


# --- resolutions, contracts, and what a request pays against ---------------------------------------------

@dataclass
class Upload:
    filename: str
    data: bytes


@dataclass
class ResolutionInput:
    matter: str = ""
    matter_kind: str = MatterKind.OTHER.value
    meeting_date: date | str | None = None
    expected: int | str | None = None  # 应到
    present: int | str | None = None  # 实到
    amount: str | Decimal | None = None
    minutes: Upload | None = None
    publicity: Upload | None = None  # 决议公开


def _count(value: int | str | None, field: str, errors: dict[str, str], label: str) -> int | None:
    if isinstance(value, str):
        value = value.strip()
        if not value:
            value = None
        elif not value.isdigit():
            errors[field] = _("%(label)s请填写整数。", label=label)
            return None
        else:
            value = int(value)
    if value is None:
        errors[field] = _("请填写%(label)s。", label=label)
        return None
    if not 1 <= value <= MAX_ATTENDANCE:
        errors[field] = _("%(label)s不正确。", label=label)
        return None
    return value


def _store(upload: Upload | None, field: str, errors: dict[str, str], label: str) -> storage.Stored | None:
    if upload is None or not upload.data:
        errors[field] = _("请上传%(label)s。", label=label)
        return None
    try:
        return storage.save(upload.data)
    except storage.StorageError as exc:
        errors[field] = _("%(label)s：%(error)s", label=label, error=exc)
        return None


def _missing_uploads(errors: dict[str, str], *uploads: tuple[Upload | None, str, str]) -> None:
    for upload, field, label in uploads:
        if upload is None or not upload.data:
            errors[field] = _("请上传%(label)s。", label=label)


def _require_accountant(user: User, village: OrgUnit) -> None:
    if not can(user, Permission.REQUEST_CREATE, village):
        raise Forbidden(Permission.REQUEST_CREATE)


def resolution_summary(res: Resolution) -> dict[str, Any]:
    return {"village": res.village.code, "matter": res.matter, "matter_kind": res.matter_kind.value,
            "meeting_date": res.meeting_date, "expected": res.expected, "present": res.present,
            "amount": res.amount, "minutes": res.minutes_sha256, "publicity": res.publicity_sha256,
            "result": res.result_sha256}


def create_resolution(user: User, village: OrgUnit, data: ResolutionInput, rules: ControlRules) -> Resolution:
    """Record a 四议两公开 resolution once: meeting date (not in the future), 应到 and 实到 (实到 at most
    应到 and at least the quorum, two thirds by default), amount, matter, the signed minutes and the
    决议公开 photo. One `resolution_create` event on the village's chain."""
    _require_accountant(user, village)
    errors: dict[str, str] = {}
    matter = _text(data.matter, "matter", errors, _("决议事项"), 200)
    try:
        kind = MatterKind(data.matter_kind)
    except ValueError:
        errors["matter_kind"] = _("请选择事项类别。")
        kind = MatterKind.OTHER
    meeting_date = _date(data.meeting_date, "meeting_date", errors, _("会议日期"))
    expected = _count(data.expected, "expected", errors, _("应到人数"))
    present = _count(data.present, "present", errors, _("实到人数"))
    if expected is not None and present is not None:
        if present > expected:
            errors["present"] = _("实到人数（%(p)d）不能多于应到人数（%(e)d）。", p=present, e=expected)
        elif Fraction(present, expected) < rules.quorum:
            errors["present"] = _("实到 %(p)d 人，不足应到 %(e)d 人的%(q)s，会议不能形成决议。", p=present,
                                  e=expected, q=quorum_text(rules.quorum))
    amount = _amount(data.amount, "amount", errors, _("决议金额"))
    if errors:  # store no file for a form that is refused anyway, but say which are missing
        _missing_uploads(errors, (data.minutes, "minutes", _("会议记录照片")),
                         (data.publicity, "publicity", _("决议公开照片")))
        _raise_if(errors)
    minutes = _store(data.minutes, "minutes", errors, _("会议记录照片"))
    publicity = _store(data.publicity, "publicity", errors, _("决议公开照片"))
    _raise_if(errors)
    assert meeting_date and expected and present and amount and minutes and publicity
    res = Resolution(village=village, matter=matter, matter_kind=kind, meeting_date=meeting_date, expected=expected,
                     present=present, amount=amount, minutes_sha256=minutes.sha256, minutes_type=minutes.content_type,
                     publicity_sha256=publicity.sha256, publicity_type=publicity.content_type,
                     created_by_id=user.id)
    db.session.add(res)
    db.session.flush()
    trail.record(village=village, user=user, role=Role.ACCOUNTANT, action=AuditAction.RESOLUTION_CREATE,
                 subject_type=AuditSubject.RESOLUTION, subject_id=res.id, after=resolution_summary(res),
                 attachments=(minutes.sha256, publicity.sha256))
    return res


def quorum_text(quorum: Fraction) -> str:
    return {Fraction(2, 3): _("三分之二"), Fraction(1, 2): _("二分之一")}.get(
        quorum, f"{quorum.numerator}/{quorum.denominator}")


def add_result_publicity(user: User, res: Resolution, upload: Upload) -> Resolution:
    """The 结果公开 photo, required before the final instalment (尾款, 质保金) is submitted."""
    _require_accountant(user, res.village)
    errors: dict[str, str] = {}
    stored = _store(upload, "result", errors, _("结果公开照片"))
    _raise_if(errors)
    assert stored is not None
    before = res.result_sha256
    res.result_sha256, res.result_type = stored.sha256, stored.content_type
    db.session.flush()
    trail.record(village=res.village, user=user, role=Role.ACCOUNTANT, action=AuditAction.RESOLUTION_RESULT,
                 subject_type=AuditSubject.RESOLUTION, subject_id=res.id, before={"result": before},
                 after={"result": stored.sha256}, attachments=(stored.sha256,))
    return res


@dataclass
class ContractInput:
    title: str = ""
    counterparty: str = ""
    amount: str | Decimal | None = None
    signed_on: date | str | None = None
    starts_on: date | str | None = None
    ends_on: date | str | None = None
    resolution_id: int | None = None
    file: Upload | None = None


def contract_summary(c: Contract) -> dict[str, Any]:
    return {"village": c.village.code, "title": c.title, "counterparty": c.counterparty, "amount": c.amount,
            "signed_on": c.signed_on, "starts_on": c.starts_on, "ends_on": c.ends_on,
            "resolution_id": c.resolution_id, "file": c.file_sha256}


def create_contract(user: User, village: OrgUnit, data: ContractInput) -> Contract:
    """Record a contract once: counterparty, amount (> 0), signing date (not in the future), term, file,
    and the resolution it carries out (of the same village; the contracts under one resolution may not
    add up to more than it). One `contract_create` event on the village's chain."""
    _require_accountant(user, village)
    errors: dict[str, str] = {}
    title = _text(data.title, "title", errors, _("合同名称"), 200)
    counterparty = _text(data.counterparty, "counterparty", errors, _("合同相对方"), 100)
    amount = _amount(data.amount, "amount", errors, _("合同金额"))
    signed_on = _date(data.signed_on, "signed_on", errors, _("签订日期"))
    starts_on = _date(data.starts_on, "starts_on", errors, _("开始日期"), required=False, not_after_today=False)
    ends_on = _date(data.ends_on, "ends_on", errors, _("结束日期"), required=False, not_after_today=False)
    if starts_on and ends_on and ends_on < starts_on:
        errors["ends_on"] = _("结束日期不能早于开始日期。")
    resolution = None
    if data.resolution_id is not None:
        resolution = db.session.get(Resolution, data.resolution_id)
        if resolution is None or resolution.village_id != village.id:
            errors["resolution_id"] = _("请选择本村的决议。")
        elif amount is not None:
            committed = sum(db.session.execute(select(Contract.amount).where(
                Contract.resolution_id == resolution.id)).scalars(), Decimal("0.00"))
            if committed + amount > resolution.amount:
                errors["amount"] = _("此决议已签合同 %(done)s 元，再签 %(amount)s 元将超过决议金额 %(limit)s 元。",
                                     done=format_amount(committed), amount=format_amount(amount),
                                     limit=format_amount(resolution.amount))
    if errors:
        _missing_uploads(errors, (data.file, "file", _("合同文件")))
        _raise_if(errors)
    stored = _store(data.file, "file", errors, _("合同文件"))
    _raise_if(errors)
    assert amount is not None and signed_on is not None and stored is not None
    contract = Contract(village=village, resolution=resolution, title=title, counterparty=counterparty,
                        counterparty_key=name_key(counterparty), amount=amount, signed_on=signed_on,
                        starts_on=starts_on, ends_on=ends_on, file_sha256=stored.sha256,
                        file_type=stored.content_type, created_by_id=user.id)
    db.session.add(contract)
    db.session.flush()
    trail.record(village=village, user=user, role=Role.ACCOUNTANT, action=AuditAction.CONTRACT_CREATE,
                 subject_type=AuditSubject.CONTRACT, subject_id=contract.id, after=contract_summary(contract),
                 attachments=(stored.sha256,))
    return contract


def request_control(req: PaymentRequest) -> RequestControl | None:
    return db.session.execute(select(RequestControl).where(RequestControl.request_id == req.id)).scalar_one_or_none()


def link_summary(link: RequestControl) -> dict[str, Any]:
    return {"resolution_id": link.resolution_id, "contract_id": link.contract_id,
            "instalment": link.instalment.value if link.instalment else None,
            "payee_id_number": link.payee_id_number}


def link_request(user: User, req: PaymentRequest, *, resolution_id: int | None = None,
                 contract_id: int | None = None, instalment: str | None = None,
                 payee_id_number: str | None = None) -> RequestControl | None:
    """Say what a draft or returned request pays against (a resolution, or a contract and which
    instalment) and the payee's 身份证号. A contract brings its own resolution. Returns None when nothing
    changed; else one `request_link` event on the village's chain."""
    _editable_request(user, req)
    errors: dict[str, str] = {}
    contract = resolution = None
    if contract_id is not None:
        contract = db.session.get(Contract, contract_id)
        if contract is None or contract.village_id != req.village_id:
            errors["contract_id"] = _("请选择本村的合同。")
        else:
            resolution = contract.resolution
    if resolution is None and resolution_id is not None:
        resolution = db.session.get(Resolution, resolution_id)
        if resolution is None or resolution.village_id != req.village_id:
            errors["resolution_id"] = _("请选择本村的决议。")
            resolution = None
    kind = None
    if instalment:
        try:
            kind = Instalment(instalment)
        except ValueError:
            errors["instalment"] = _("请选择付款阶段。")
    if kind is not None and contract is None:
        errors["instalment"] = _("付款阶段只用于合同付款，请先选择合同。")
    id_number = None
    if (payee_id_number or "").strip():
        try:
            id_number = parse_id_number(payee_id_number)
        except NormaliseError as exc:
            errors["payee_id_number"] = str(exc)
    _raise_if(errors)
    link = request_control(req)
    before = link_summary(link) if link is not None else None
    if link is None:
        link = RequestControl(request_id=req.id)
        db.session.add(link)
    link.contract, link.contract_id = contract, contract.id if contract else None
    link.resolution, link.resolution_id = resolution, resolution.id if resolution else None
    link.instalment, link.payee_id_number = kind, id_number
    after = link_summary(link)
    if before == after:
        return None
    link.updated_at = utcnow()
    db.session.flush()
    trail.record(village=req.village, user=user, role=Role.ACCOUNTANT, action=AuditAction.REQUEST_LINK,
                 subject_type=AuditSubject.PAYMENT_REQUEST,
                 subject_id=req.id, before={"link": before} if before else None, after={"link": after})
    return link


# --- the 负面清单 and control settings ---------------------------------------------------------------------

@dataclass
class NegativeItemInput:
    item: str = ""
    keywords: str = ""  # separated by spaces, commas or 、
    action: str = ListAction.WARN.value


def _require_township_admin(by: User | None, township: OrgUnit) -> None:
    if township.kind != OrgKind.TOWNSHIP:
        raise ControlError(_("负面清单和控制设置按乡镇设置。"))
    if by is not None and not can(by, Permission.POLICY_MANAGE, township):
        raise Forbidden(Permission.POLICY_MANAGE)


def _negative_fields(data: NegativeItemInput) -> tuple[str, str, ListAction]:
    import re

    errors: dict[str, str] = {}
    item = _text(data.item, "item", errors, _("事项"), 50)
    words = list(dict.fromkeys(w for w in re.split(r"[\s,，、;；]+", data.keywords or "") if w))
    if not words and item:
        words = [item]
    if any(len(w) > 20 for w in words) or len(" ".join(words)) > 500:
        errors["keywords"] = _("关键词每个最多 20 个字，合计最多 500 字。")
    try:
        action = ListAction(data.action)
    except ValueError:
        errors["action"] = _("请选择“禁止”或“提醒”。")
        action = ListAction.WARN
    _raise_if(errors)
    return item, " ".join(words), action


def negative_summary(row: NegativeItem) -> dict[str, Any]:
    return {"item": row.item, "keywords": row.keywords, "action": row.action.value, "active": row.active}


def add_negative_item(by: User | None, township: OrgUnit, data: NegativeItemInput) -> NegativeItem:
    """A line of the township's 负面清单. One `negative_list_add` event on the system chain."""
    _require_township_admin(by, township)
    item, keywords, action = _negative_fields(data)
    row = NegativeItem(township_id=township.id, item=item, keywords=keywords, action=action, active=True,
                       created_by_id=by.id if by else None)
    db.session.add(row)
    db.session.flush()
    trail.record(village=None, user=by, role=Role.ADMIN if by else None, action=AuditAction.NEGATIVE_LIST_ADD,
                 subject_type=AuditSubject.NEGATIVE_ITEM, subject_id=row.id, after={"township": township.code,
                                                                         **negative_summary(row)})
    return row


def update_negative_item(by: User | None, row: NegativeItem, data: NegativeItemInput) -> NegativeItem | None:
    township = db.session.get(OrgUnit, row.township_id)
    assert township is not None
    _require_township_admin(by, township)
    item, keywords, action = _negative_fields(data)
    before = negative_summary(row)
    row.item, row.keywords, row.action = item, keywords, action
    after = negative_summary(row)
    if before == after:
        return None
    row.updated_at = utcnow()
    db.session.flush()
    changed = [k for k in after if after[k] != before[k]]
    trail.record(village=None, user=by, role=Role.ADMIN if by else None, action=AuditAction.NEGATIVE_LIST_UPDATE,
                 subject_type=AuditSubject.NEGATIVE_ITEM, subject_id=row.id, before={k: before[k] for k in changed},
                 after={k: after[k] for k in changed})
    return row


def remove_negative_item(by: User | None, row: NegativeItem) -> None:
    township = db.session.get(OrgUnit, row.township_id)
    assert township is not None
    _require_township_admin(by, township)
    if not row.active:
        return
    row.active = False
    row.updated_at = utcnow()
    db.session.flush()
    trail.record(village=None, user=by, role=Role.ADMIN if by else None, action=AuditAction.NEGATIVE_LIST_REMOVE,
                 subject_type=AuditSubject.NEGATIVE_ITEM, subject_id=row.id, before={"active": True},
                 after={"active": False})


def publish_control_rules(by: User | None, township: OrgUnit, rules: ControlRules) -> ControlPolicy:
    """A new version of the township's control settings; earlier versions stay."""
    _require_township_admin(by, township)
    if not 1 <= rules.window_days <= 366:
        raise ControlError(_("累计期间应为 1 到 366 天。"), {"window_days": _("累计期间应为 1 到 366 天。")})
    if not Fraction(1, 2) <= rules.quorum <= 1:
        raise ControlError(_("到会比例应在二分之一到全部之间。"), {"quorum": _("到会比例应在二分之一到全部之间。")})
    version = (db.session.execute(select(func.max(ControlPolicy.version)).where(
        ControlPolicy.township_id == township.id)).scalar_one() or 0) + 1
    row = ControlPolicy(township_id=township.id, version=version, rules=rules.to_json(),
                        created_by_id=by.id if by else None)
    db.session.add(row)
    db.session.flush()
    trail.record(village=None, user=by, role=Role.ADMIN if by else None, action=AuditAction.CONTROL_POLICY_PUBLISH,
                 subject_type=AuditSubject.CONTROL_POLICY, subject_id=row.id,
                 after={"township": township.code, "version": version, "rules": row.rules})
    return row


QUORUM_CHOICES = ("1/2", "2/3", "3/4", "1")
COMMITTEE_ROLES = (Role.VILLAGE_SUPERVISOR, Role.VILLAGE_LEAD)  # the steps a township may make k of n


@dataclass
class ControlSettingsInput:
    """The control policy page's fields, as typed (the 负面清单 and the matters' words are kept apart)."""

    window_days: str = "30"
    quorum: str = "2/3"
    image_distance: str = "12"
    salary_subjects: str = ""
    committee_village_supervisor: str = "1"
    committee_village_lead: str = "1"
    originals_before_payment: bool = False


def settings_input(rules: ControlRules) -> ControlSettingsInput:
    return ControlSettingsInput(
        window_days=str(rules.window_days), quorum=f"{rules.quorum.numerator}/{rules.quorum.denominator}"
        if rules.quorum.denominator != 1 else "1", image_distance=str(rules.image_distance),
        salary_subjects=" ".join(rules.salary_subjects),
        committee_village_supervisor=str(rules.committee.get(Role.VILLAGE_SUPERVISOR.value, 1)),
        committee_village_lead=str(rules.committee.get(Role.VILLAGE_LEAD.value, 1)),
        originals_before_payment=rules.originals_before_payment)


def publish_control_settings(by: User | None, township: OrgUnit, data: ControlSettingsInput) -> ControlPolicy | None:
    """A new version of the township's control settings from the policy page (None: nothing changed).
    The matters that need 四议两公开 and their words are kept from the current version."""
    errors: dict[str, str] = {}
    window = _count(data.window_days, "window_days", errors, _("累计期间（天）"))
    if data.quorum not in QUORUM_CHOICES:
        errors["quorum"] = _("请选择到会比例。")
    distance = _count(data.image_distance, "image_distance", errors, _("照片相似度阈值"))
    if distance is not None and not 1 <= distance <= 20:
        errors["image_distance"] = _("照片相似度阈值应在 1 到 20 之间。")
    subjects = tuple(s for s in data.salary_subjects.replace("，", " ").replace(",", " ").split() if s)
    if any(not s.isdigit() or len(s) > 12 for s in subjects):
        errors["salary_subjects"] = _("工资类科目请填写科目代码（数字），用空格分开。")
    committee: dict[str, int] = {}
    for role in COMMITTEE_ROLES:
        name = f"committee_{role.value}"
        k = _count(getattr(data, name), name, errors, _("同意人数"))
        if k is not None and not 1 <= k <= 9:
            errors[name] = _("同意人数应在 1 到 9 之间。")
        elif k is not None and k > 1:
            committee[role.value] = k
    _raise_if(errors)
    current = control_rules(township)
    assert window is not None and distance is not None
    rules = replace(current, window_days=window, quorum=Fraction(data.quorum), image_distance=distance,
                    salary_subjects=subjects, committee=committee,
                    originals_before_payment=bool(data.originals_before_payment))
    if rules.to_json() == current.to_json():
        return None
    return publish_control_rules(by, township, rules)


def officials_with_roles(unit: OrgUnit) -> list[User]:
    """Users holding a role at `unit` itself (for the register page's list of officials)."""
    return list(db.session.execute(
        select(User).join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(RoleAssignment.org_unit_id == unit.id).distinct().order_by(User.username)).scalars())


def mark_originals_received(user: User, req: PaymentRequest) -> OriginalsReceipt:
    """The agency's reviewer confirms that the paper vouchers of an approved request have arrived (原件已收),
    which the cashier waits for where the township's ControlRules.originals_before_payment is on. Said
    twice, it stays the first time's."""
    if (req.state, Action.PAY) not in TABLE:
        raise ControlError(_("只有审批通过、等待支付的申请才能确认原件已收。"),
                           {"originals": _("只有审批通过、等待支付的申请才能确认原件已收。")})
    if Role.AGENCY_REVIEWER not in user.roles_at(req.village):
        raise Forbidden("originals")
    existing = db.session.execute(select(OriginalsReceipt).where(OriginalsReceipt.request_id == req.id)
                                  ).scalar_one_or_none()
    if existing is not None:
        return existing
    row = OriginalsReceipt(request_id=req.id, received_by_id=user.id, received_at=utcnow())
    db.session.add(row)
    db.session.flush()
    trail.record(village=req.village, user=user, role=Role.AGENCY_REVIEWER, action=AuditAction.ORIGINALS_RECEIVED,
                 subject_type=AuditSubject.PAYMENT_REQUEST, subject_id=req.id,
                 after={"originals": {"received_by": user.id, "received_at": row.received_at}})
    return row

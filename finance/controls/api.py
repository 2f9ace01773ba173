"""The controls through the JSON API (/api/v1, docs/api.md): a village's 四议两公开 resolutions and its
contracts (the accountant records them, with their files; whoever reads the village's requests reads them),
what a request pays against, 原件已收, and per township the register of officials and their relatives, the
负面清单 and the control policy (the district admin). Every endpoint calls the controls pages' own services
(finance.controls.services) and lookups (finance.controls.queries, finance.controls.scope): no rule lives
here. The pages are finance/controls/views.py."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from flask import current_app, url_for
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from finance import storage
from finance.api.endpoints_requests import PersonOut, UnitOut, load, unit_out
from finance.api.framework import Created, api
from finance.api.schemas import Day, Id, Money, MoneyIn, Out, Schema, Time
from finance.auth.models import User
from finance.controls import queries as q
from finance.controls import scope
from finance.controls import services as controls
from finance.controls.models import (
    Contract,
    ListAction,
    MatterKind,
    NegativeItem,
    RelatedPerson,
    Relation,
    Resolution,
)
from finance.errors import Forbidden, InputError, NotFound
from finance.orgs.models import OrgUnit
from finance.permissions import Permission
from finance.security import send_user_file
from finance.storage import TYPES
from finance.trail import AuditSubject, action_label

TAG_RECORDS = api.tag("controls", "决议与合同")
TAG_REGISTER = api.tag("register", "关联人登记、负面清单与审核规则")

Files = dict[str, list[tuple[str, bytes]]]
Attendance = Annotated[int, Field(ge=1, le=controls.MAX_ATTENDANCE)]


# --- resolutions and contracts ---------------------------------------------------------------------------

class UsageOut(Out):
    committed: Money = Field(description="已申请（审批中、已批准、已支付）的合计")
    paid: Money = Field(description="已支付的合计")
    requests: list[str] = Field(description="计入的申请编号")


class ResolutionOut(Out):
    id: int
    village: UnitOut
    matter: str
    matter_kind: str = Field(description="works / asset_disposal / contracting / purchase / other")
    matter_kind_label: str
    meeting_date: Day
    expected: int = Field(description="应到人数")
    present: int = Field(description="实到人数")
    amount: Money
    usage: UsageOut
    remaining: Money = Field(description="决议金额减去已申请")
    files: list[str] = Field(description="可下载的文件：minutes（会议记录）、publicity（决议公开）、result（结果公开）")
    contract_ids: list[int] = Field(description="按此决议签订的合同")
    created_at: Time


class InstalmentOut(Out):
    request_id: int
    number: str | None
    instalment: str | None = Field(description="advance / progress / final / retention")
    instalment_label: str | None
    amount: Money | None
    state: str


class ContractOut(Out):
    id: int
    village: UnitOut
    title: str
    counterparty: str
    amount: Money
    signed_on: Day
    starts_on: Day | None
    ends_on: Day | None
    resolution_id: int | None
    file_type: str
    usage: UsageOut
    unpaid: Money = Field(description="合同金额减去已支付")
    instalments: list[InstalmentOut] = Field(description="按此合同付款的申请，最早的在前")
    created_at: Time


class ResolutionList(Out):
    items: list[ResolutionOut]


class ContractList(Out):
    items: list[ContractOut]


def _usage(usage: q.Usage) -> UsageOut:
    return UsageOut(committed=usage.committed, paid=usage.paid, requests=list(usage.numbers))


RESOLUTION_FILES = {"minutes": ("minutes_sha256", "minutes_type"), "publicity": ("publicity_sha256", "publicity_type"),
                    "result": ("result_sha256", "result_type")}


def resolution_out(res: Resolution) -> ResolutionOut:
    used = q.usage(resolution_id=res.id)
    return ResolutionOut(
        id=res.id, village=unit_out(res.village), matter=res.matter, matter_kind=res.matter_kind.value,
        matter_kind_label=res.matter_kind.label, meeting_date=res.meeting_date, expected=res.expected,
        present=res.present, amount=res.amount, usage=_usage(used), remaining=res.amount - used.committed,
        files=[name for name, (sha, _type) in RESOLUTION_FILES.items() if getattr(res, sha)],
        contract_ids=[c.id for c in q.contracts_of(res.village) if c.resolution_id == res.id],
        created_at=res.created_at)


def contract_out(row: Contract) -> ContractOut:
    used = q.usage(contract_id=row.id)
    return ContractOut(
        id=row.id, village=unit_out(row.village), title=row.title, counterparty=row.counterparty, amount=row.amount,
        signed_on=row.signed_on, starts_on=row.starts_on, ends_on=row.ends_on, resolution_id=row.resolution_id,
        file_type=row.file_type, usage=_usage(used), unpaid=row.amount - used.paid,
        instalments=[InstalmentOut(request_id=r.id, number=r.number,
                                   instalment=link.instalment.value if link.instalment else None,
                                   instalment_label=link.instalment.label if link.instalment else None,
                                   amount=r.amount, state=r.state.value) for r, link in q.instalments_of(row)],
        created_at=row.created_at)


class RecordsQuery(Schema):
    village_id: SkipJsonSchema[None] | Id = Field(default=None, description="村的 id；默认本人报账的所有村")


def _record_villages(village_id: int | None) -> list[OrgUnit]:
    """The villages whose records the records page lists: the accountant's own (else 404, as the page)."""
    villages = scope.accountant_villages(current_user)
    if not villages:
        raise NotFound("records")
    if village_id is None:
        return villages
    chosen = [v for v in villages if v.id == village_id]
    if not chosen:
        why = _("请选择您报账的村。")
        raise InputError(why, {"village_id": why})
    return chosen


def _accountant_village(village_id: int | None) -> OrgUnit:
    """The village a new resolution or contract is recorded for: the accountant's (named when he has two)."""
    villages = scope.accountant_villages(current_user)
    if not villages:
        raise Forbidden(Permission.REQUEST_CREATE)
    if village_id is None and len(villages) > 1:
        why = _("您在多个村报账，请指定村。")
        raise InputError(why, {"village_id": why})
    return _record_villages(village_id)[0]


def _resolution(resolution_id: int) -> Resolution:
    res = scope.visible_record(current_user, q.resolution(resolution_id))
    if res is None:
        raise NotFound(resolution_id)
    return res


def _contract(contract_id: int) -> Contract:
    row = scope.visible_record(current_user, q.contract(contract_id))
    if row is None:
        raise NotFound(contract_id)
    return row


def _upload(files: Files, name: str) -> controls.Upload:
    filename, data = files[name][0]
    return controls.Upload(filename, data)


def _send(sha256: str, content_type: str, stem: str, missing: object) -> Any:
    """A stored file as uploaded (the original, not the page's smaller display copy)."""
    try:
        path = storage.path_for(sha256)
    except storage.StorageError:
        raise NotFound(missing) from None
    if not path.exists():
        raise NotFound(missing)
    return send_user_file(path.read_bytes(), content_type=content_type,
                          filename=stem + TYPES.get(content_type, ""), fallback_stem=f"sanzi-{stem}")


@api.operation("GET", "/resolutions", summary="“四议两公开”决议列表", tag=TAG_RECORDS, query=RecordsQuery,
               response=ResolutionList, errors=(404,),
               description="村报账员所在村的决议（与“决议与合同”页相同），会议日期最新的在前；"
                           "含已申请、已支付和剩余金额。不是村报账员：404。")
def list_resolutions(query: RecordsQuery) -> ResolutionList:
    return ResolutionList(items=[resolution_out(r) for v in _record_villages(query.village_id)
                                 for r in q.resolutions_of(v)])


class ResolutionForm(Schema):
    village_id: SkipJsonSchema[None] | Id = Field(default=None, description="报账的村（只有一个村时可省略）")
    matter: str = Field(max_length=200, description="决议事项")
    matter_kind: Annotated[str, Field(description="事项类别", max_length=20,
                                      json_schema_extra={"enum": [k.value for k in MatterKind]})]
    meeting_date: date = Field(description="会议日期（不晚于今天）")
    expected: Attendance = Field(description="应到人数")
    present: Attendance = Field(description="实到人数（不少于应到的法定比例）")
    amount: MoneyIn = Field(description="决议金额")


@api.operation("POST", "/resolutions", summary="登记“四议两公开”决议", tag=TAG_RECORDS, form=ResolutionForm,
               files=("minutes", "publicity"), response=ResolutionOut, status=201, errors=(403,),
               description="multipart/form-data：决议的各项与 minutes（签字的会议记录照片）、publicity"
                           "（决议公开照片）。实到不得多于应到，也不得少于本镇规定的到会比例；记入该村台账。")
def create_resolution(form: ResolutionForm, files: Files) -> Created:
    village = _accountant_village(form.village_id)
    data = controls.ResolutionInput(matter=form.matter, matter_kind=form.matter_kind,
                                    meeting_date=form.meeting_date, expected=form.expected, present=form.present,
                                    amount=form.amount, minutes=_upload(files, "minutes"),
                                    publicity=_upload(files, "publicity"))
    res = controls.create_resolution(current_user, village, data, q.control_rules(village.township))
    return Created(resolution_out(res), url_for("api.get_resolution", resolution_id=res.id))


@api.operation("GET", "/resolutions/<int:resolution_id>", summary="决议详情", tag=TAG_RECORDS,
               response=ResolutionOut, description="能查看该村申请的人可见。")
def get_resolution(resolution_id: int) -> ResolutionOut:
    return resolution_out(_resolution(resolution_id))


class NoFields(Schema):
    """Nothing but the file."""


@api.operation("POST", "/resolutions/<int:resolution_id>/result", summary="上传结果公开照片", tag=TAG_RECORDS,
               form=NoFields, files=("result",), response=ResolutionOut, errors=(403,),
               description="multipart/form-data：result（结果公开照片）。支付尾款或质保金之前须上传；该村报账员上传。")
def add_result_publicity(resolution_id: int, form: NoFields, files: Files) -> ResolutionOut:
    res = _resolution(resolution_id)
    controls.add_result_publicity(current_user, res, _upload(files, "result"))
    return resolution_out(res)


@api.operation("GET", "/resolutions/<int:resolution_id>/files/<name>", summary="决议的文件", tag=TAG_RECORDS,
               produces=tuple(TYPES),
               description="name：minutes（会议记录）、publicity（决议公开）或 result（结果公开，上传后才有）。"
                           "上传时的原文件。")
def resolution_file(resolution_id: int, name: str) -> Any:
    res = _resolution(resolution_id)
    if name not in RESOLUTION_FILES or not getattr(res, RESOLUTION_FILES[name][0]):
        raise NotFound(name)
    sha, kind = RESOLUTION_FILES[name]
    return _send(getattr(res, sha), getattr(res, kind), f"resolution-{res.id}-{name}", resolution_id)


@api.operation("GET", "/contracts", summary="合同列表", tag=TAG_RECORDS, query=RecordsQuery, response=ContractList,
               errors=(404,),
               description="村报账员所在村的合同（与“决议与合同”页相同），签订日期最新的在前；"
                           "含已申请、已支付和未支付金额。不是村报账员：404。")
def list_contracts(query: RecordsQuery) -> ContractList:
    return ContractList(items=[contract_out(c) for v in _record_villages(query.village_id)
                               for c in q.contracts_of(v)])


class ContractForm(Schema):
    village_id: SkipJsonSchema[None] | Id = Field(default=None, description="报账的村（只有一个村时可省略）")
    title: str = Field(max_length=200, description="合同名称")
    counterparty: str = Field(max_length=100, description="合同相对方")
    amount: MoneyIn = Field(description="合同金额")
    signed_on: date = Field(description="签订日期（不晚于今天）")
    starts_on: SkipJsonSchema[None] | date = None
    ends_on: SkipJsonSchema[None] | date = None
    resolution_id: SkipJsonSchema[None] | Id = Field(default=None, description="所执行的本村决议")


@api.operation("POST", "/contracts", summary="登记合同", tag=TAG_RECORDS, form=ContractForm, files=("file",),
               response=ContractOut, status=201, errors=(403,),
               description="multipart/form-data：合同的各项与 file（合同文件，图片或 PDF）。"
                           "同一决议下各合同合计不得超过决议金额；记入该村台账。")
def create_contract(form: ContractForm, files: Files) -> Created:
    village = _accountant_village(form.village_id)
    data = controls.ContractInput(title=form.title, counterparty=form.counterparty, amount=form.amount,
                                  signed_on=form.signed_on, starts_on=form.starts_on, ends_on=form.ends_on,
                                  resolution_id=form.resolution_id, file=_upload(files, "file"))
    row = controls.create_contract(current_user, village, data)
    return Created(contract_out(row), url_for("api.get_contract", contract_id=row.id))


@api.operation("GET", "/contracts/<int:contract_id>", summary="合同详情", tag=TAG_RECORDS, response=ContractOut,
               description="能查看该村申请的人可见；含按此合同付款的各期申请。")
def get_contract(contract_id: int) -> ContractOut:
    return contract_out(_contract(contract_id))


@api.operation("GET", "/contracts/<int:contract_id>/file", summary="合同文件", tag=TAG_RECORDS, produces=tuple(TYPES),
               description="上传时的原文件。")
def contract_file(contract_id: int) -> Any:
    row = _contract(contract_id)
    return _send(row.file_sha256, row.file_type, f"contract-{row.id}", contract_id)


# --- what a request pays against, 原件已收 ----------------------------------------------------------------

class LinkOut(Out):
    request_id: int
    resolution_id: int | None
    contract_id: int | None
    instalment: str | None = Field(description="advance / progress / final / retention")
    instalment_label: str | None
    payee_id_number: str | None = Field(description="收款人身份证号：只有可以修改此申请的报账员看得到")


Instalments = Literal["advance", "progress", "final", "retention"]


class LinkIn(Schema):
    """What the request pays against (a contract brings its own resolution) and the payee's 身份证号.
    The whole link is replaced: a field left out is cleared."""

    resolution_id: Id | None = None
    contract_id: Id | None = None
    instalment: Instalments | None = Field(default=None, description="合同付款的阶段")
    payee_id_number: str | None = Field(default=None, max_length=40, description="收款人身份证号（18 位）")


def _link_out(req: Any) -> LinkOut:
    link = q.link_of(req)
    shown = scope.may_type_into(current_user, req)
    return LinkOut(request_id=req.id, resolution_id=link.resolution_id if link else None,
                   contract_id=link.contract_id if link else None,
                   instalment=link.instalment.value if link and link.instalment else None,
                   instalment_label=link.instalment.label if link and link.instalment else None,
                   payee_id_number=link.payee_id_number if link and shown else None)


@api.operation("GET", "/requests/<int:request_id>/link", summary="申请关联的决议或合同", tag=TAG_RECORDS,
               response=LinkOut,
               description="申请页“审核提示”中显示的关联；收款人身份证号只对可以修改此申请的报账员显示。")
def get_link(request_id: int) -> LinkOut:
    return _link_out(load(request_id))


@api.operation("PUT", "/requests/<int:request_id>/link", summary="关联决议、合同或收款人身份证号", tag=TAG_RECORDS,
               body=LinkIn, response=LinkOut, errors=(403,),
               description="草稿或被退回的申请由报账员填写（整体替换）；已提交的申请不能修改（422）。记入该村台账。")
def put_link(request_id: int, body: LinkIn) -> LinkOut:
    req = load(request_id)
    controls.link_request(current_user, req, resolution_id=body.resolution_id, contract_id=body.contract_id,
                          instalment=body.instalment, payee_id_number=body.payee_id_number or None)
    return _link_out(req)


class OriginalsOut(Out):
    request_id: int
    received_by: PersonOut
    received_at: Time


@api.operation("POST", "/requests/<int:request_id>/originals", summary="原件已收", tag=TAG_RECORDS, body=NoFields,
               response=OriginalsOut, errors=(403,),
               description="代理中心审核会计确认审批通过、等待支付的申请的纸质原件已经收到；"
                           "本镇规定“原件已收后才能支付”时，出纳此后才能支付。再次确认仍是第一次的记录。"
                           "不在等待支付：422（originals）。")
def mark_originals(request_id: int, body: NoFields) -> OriginalsOut:
    req = load(request_id)
    row = controls.mark_originals_received(current_user, req)
    return OriginalsOut(request_id=req.id, received_by=PersonOut(id=row.received_by.id,
                                                                 name=row.received_by.display_name),
                        received_at=row.received_at)


# --- the register (district admin, per township) ---------------------------------------------------------

class RegisterLineOut(Out):
    id: int
    official_id: int
    name: str
    relation: str = Field(description="self（本人）/ spouse / parent / child / sibling / other_close / specific")
    relation_label: str
    id_number: str | None
    accounts: list[str]
    note: str
    active: bool


class AssignmentOut(Out):
    role: str
    role_label: str
    unit: UnitOut


class OfficialOut(Out):
    id: int
    username: str
    name: str
    roles: list[AssignmentOut]


class OfficialLinesOut(OfficialOut):
    lines: list[RegisterLineOut] = Field(description="在册的登记（本人与近亲属）")


class UnitOfficialsOut(Out):
    unit: UnitOut
    officials: list[OfficialLinesOut]


class TownshipRegisterOut(Out):
    township: UnitOut
    units: list[UnitOfficialsOut] = Field(description="本乡镇及其各村，各有在该单位任职的人员")


class OfficialRegisterOut(Out):
    official: OfficialOut
    own: RegisterLineOut | None = Field(description="本人身份证号和银行账号")
    relatives: list[RegisterLineOut] = Field(description="近亲属及特定关系人，含已移除的")


class HistoryOut(Out):
    action: str
    label: str
    actor: str | None
    at: Time
    reason: str | None


class RegisterLineDetailOut(RegisterLineOut):
    history: list[HistoryOut]


def line_out(person: RelatedPerson) -> RegisterLineOut:
    return RegisterLineOut(id=person.id, official_id=person.official_id, name=person.name,
                           relation=person.relation.value, relation_label=person.relation.label,
                           id_number=person.id_number, accounts=[a.account for a in person.accounts],
                           note=person.note, active=person.active)


def official_out(user: User) -> OfficialOut:
    return OfficialOut(id=user.id, username=user.username, name=user.display_name,
                       roles=[AssignmentOut(role=a.role.value, role_label=a.role.label, unit=unit_out(a.org_unit))
                              for a in user.assignments])


def _township(code: str) -> OrgUnit:
    township = scope.township_by_code(current_user, code)
    if township is None:
        raise NotFound(code)
    return township


def _official(user_id: int) -> User:
    official = scope.managed_official(current_user, user_id)
    if official is None:
        raise NotFound(user_id)
    return official


def _person(person_id: int) -> RelatedPerson:
    person = scope.managed_person(current_user, person_id)
    if person is None:
        raise NotFound(person_id)
    return person


@api.operation("GET", "/townships/<code>/register", summary="乡镇的村干部及近亲属登记", tag=TAG_REGISTER,
               response=TownshipRegisterOut,
               description="code：乡镇编码。本乡镇及其各村任职的人员，各有其在册的登记。区管理员可见，其他人 404。")
def township_register(code: str) -> TownshipRegisterOut:
    township = _township(code)
    groups = q.township_officials(township)
    lines: dict[int, list[RegisterLineOut]] = {}
    for person in q.register_of([u for _unit, users in groups for u in users]):
        lines.setdefault(person.official_id, []).append(line_out(person))
    return TownshipRegisterOut(township=unit_out(township), units=[
        UnitOfficialsOut(unit=unit_out(unit), officials=[
            OfficialLinesOut(**official_out(u).model_dump(), lines=lines.get(u.id, [])) for u in users])
        for unit, users in groups])


def _official_register(official: User) -> OfficialRegisterOut:
    people = q.register_of([official], include_inactive=True)
    own = next((p for p in people if p.relation == Relation.SELF and p.active), None)
    return OfficialRegisterOut(official=official_out(official), own=line_out(own) if own else None,
                               relatives=[line_out(p) for p in people if p.relation != Relation.SELF])


@api.operation("GET", "/officials/<int:user_id>/register", summary="一位干部的登记", tag=TAG_REGISTER,
               response=OfficialRegisterOut, description="本人身份证号和账号，以及近亲属（含已移除的）。")
def official_register(user_id: int) -> OfficialRegisterOut:
    return _official_register(_official(user_id))


Account = Annotated[str, Field(max_length=40)]
Relations = Literal["spouse", "parent", "child", "sibling", "other_close", "specific"]


class IdentityIn(Schema):
    """The official's own 身份证号 and bank accounts (at least one of them)."""

    id_number: str = Field(default="", max_length=40, description="身份证号（18 位）")
    accounts: list[Account] = Field(default_factory=list, max_length=20, description="银行账号")


class PersonIn(Schema):
    """A relative (or 特定关系人) of the official: 身份证号 or at least one account; never matched by name."""

    name: str = Field(max_length=64)
    relation: Relations
    id_number: str = Field(default="", max_length=40, description="身份证号（18 位）")
    accounts: list[Account] = Field(default_factory=list, max_length=20, description="银行账号")
    note: str = Field(default="", max_length=500)


class PersonEditIn(Schema):
    """A line corrected: every field is replaced (one left out is emptied). An official's own line keeps
    its relation."""

    name: str = Field(max_length=64)
    relation: Relations | None = Field(default=None, description="本人那一行不填")
    id_number: str = Field(default="", max_length=40)
    accounts: list[Account] = Field(default_factory=list, max_length=20)
    note: str = Field(default="", max_length=500)


def _accounts(accounts: list[str]) -> str:
    return "\n".join(accounts)


@api.operation("PUT", "/officials/<int:user_id>/identity", summary="登记干部本人的身份证号和账号", tag=TAG_REGISTER,
               body=IdentityIn, response=RegisterLineOut,
               description="干部本人那一行（本人），有则更新。收款人的账号或身份证号与之相符时，审批时须本人回避。")
def set_own_identity(user_id: int, body: IdentityIn) -> RegisterLineOut:
    official = _official(user_id)
    person = controls.set_own_identity(current_user, official, controls.PersonInput(
        id_number=body.id_number, accounts=_accounts(body.accounts)))
    return line_out(person)


@api.operation("POST", "/officials/<int:user_id>/register", summary="登记干部的近亲属或特定关系人", tag=TAG_REGISTER,
               body=PersonIn, response=RegisterLineOut, status=201,
               description="身份证号和银行账号至少填一项：登记只按身份证号和账号比对，从不按姓名。记入系统台账。")
def add_related_person(user_id: int, body: PersonIn) -> Created:
    official = _official(user_id)
    person = controls.add_related_person(current_user, official, controls.PersonInput(
        name=body.name, relation=body.relation, id_number=body.id_number, accounts=_accounts(body.accounts),
        note=body.note))
    return Created(line_out(person), url_for("api.get_related_person", person_id=person.id))


def _history(person: RelatedPerson) -> list[HistoryOut]:
    return [HistoryOut(action=e.action, label=action_label(e.action), actor=e.actor_name, at=e.occurred_at,
                       reason=e.reason) for e in q.system_history(AuditSubject.RELATED_PERSON, person.id)]


@api.operation("GET", "/related-people/<int:person_id>", summary="一条登记及其修改记录", tag=TAG_REGISTER,
               response=RegisterLineDetailOut)
def get_related_person(person_id: int) -> RegisterLineDetailOut:
    person = _person(person_id)
    return RegisterLineDetailOut(**line_out(person).model_dump(), history=_history(person))


@api.operation("PUT", "/related-people/<int:person_id>", summary="更正一条登记", tag=TAG_REGISTER, body=PersonEditIn,
               response=RegisterLineDetailOut, description="整体替换；没有改动时不记事件。")
def edit_related_person(person_id: int, body: PersonEditIn) -> RegisterLineDetailOut:
    person = _person(person_id)
    controls.update_related_person(current_user, person, controls.PersonInput(
        name=body.name, relation=body.relation or person.relation.value, id_number=body.id_number,
        accounts=_accounts(body.accounts), note=body.note))
    return RegisterLineDetailOut(**line_out(person).model_dump(), history=_history(person))


class RemoveIn(Schema):
    reason: str = Field(default="", max_length=500, description="移除的原因")


@api.operation("POST", "/related-people/<int:person_id>/remove", summary="从登记中移除", tag=TAG_REGISTER,
               body=RemoveIn, response=RegisterLineOut,
               description="该行不再参与比对，但保留（及其修改记录）；已移除的再移除不变。")
def remove_related_person(person_id: int, body: RemoveIn) -> RegisterLineOut:
    person = _person(person_id)
    controls.remove_related_person(current_user, person, body.reason)
    return line_out(person)


# --- the 负面清单 (district admin, per township) ------------------------------------------------------------

class NegativeItemOut(Out):
    id: int
    item: str
    keywords: list[str]
    action: str = Field(description="refuse（禁止：不能提交）或 warn（提醒：审批时提示）")
    action_label: str
    active: bool


class NegativeList(Out):
    township: UnitOut
    items: list[NegativeItemOut]


class NegativeItemIn(Schema):
    item: str = Field(max_length=50, description="事项，例如：烟酒")
    keywords: list[Annotated[str, Field(max_length=20)]] = Field(
        default_factory=list, max_length=50, description="用途、收款人或发票销售方中出现即命中；不填则用事项名称")
    action: Literal["refuse", "warn"] = Field(default=ListAction.WARN.value)


def negative_out(row: NegativeItem) -> NegativeItemOut:
    return NegativeItemOut(id=row.id, item=row.item, keywords=row.keyword_list, action=row.action.value,
                           action_label=row.action.label, active=row.active)


@api.operation("GET", "/townships/<code>/negative-list", summary="乡镇的负面清单", tag=TAG_REGISTER,
               response=NegativeList, description="code：乡镇编码。在用的事项。区管理员可见，其他人 404。")
def negative_list(code: str) -> NegativeList:
    township = _township(code)
    return NegativeList(township=unit_out(township), items=[negative_out(r) for r in q.negative_items(township)])


@api.operation("POST", "/townships/<code>/negative-list", summary="加入负面清单", tag=TAG_REGISTER,
               body=NegativeItemIn, response=NegativeItemOut, status=201, description="记入系统台账。")
def add_negative_item(code: str, body: NegativeItemIn) -> Created:
    township = _township(code)
    row = controls.add_negative_item(current_user, township, controls.NegativeItemInput(
        item=body.item, keywords=" ".join(body.keywords), action=body.action))
    return Created(negative_out(row), url_for("api.negative_list", code=township.code))


@api.operation("DELETE", "/negative-items/<int:item_id>", summary="从负面清单移除", tag=TAG_REGISTER, status=204,
               description="该事项不再生效（记录保留）；已移除的再移除不变。")
def remove_negative_item(item_id: int) -> Any:
    row = scope.managed_negative_item(current_user, item_id)
    if row is None:
        raise NotFound(item_id)
    controls.remove_negative_item(current_user, row)
    return current_app.response_class(status=204)


# --- the control policy (district admin, per township) ---------------------------------------------------

class PolicyVersionOut(Out):
    version: int
    published_at: Time


class ControlPolicyOut(Out):
    township: UnitOut
    version: int | None = Field(description="当前版本；null 为尚未发布（使用默认规则）")
    changed: bool | None = Field(default=None, description="PUT 的答复：是否发布了新版本（没有改动时为 false）")
    window_days: int = Field(description="累计期间（天）：同一收款人、决议或合同在此期间内的申请合并计算金额档次")
    quorum: str = Field(description="“四议两公开”到会比例：1/2、2/3、3/4 或 1")
    committee_village_supervisor: int = Field(description="村务监督委员会须同意的人数（1 为一人审批）")
    committee_village_lead: int = Field(description="村负责人须同意的人数")
    salary_subjects: list[str] = Field(description="工资类科目代码")
    image_distance: int = Field(description="照片相似度阈值（感知哈希相差的位数）")
    originals_before_payment: bool = Field(description="代理中心确认“原件已收”后出纳才能支付")
    versions: list[PolicyVersionOut] = Field(description="已发布的版本，最新的在前")


class ControlPolicyIn(Schema):
    """The whole policy (a new version is published when anything differs from the current one)."""

    window_days: Annotated[int, Field(ge=0, le=10_000)]
    quorum: Literal["1/2", "2/3", "3/4", "1"] = Field(description="到会比例")
    committee_village_supervisor: Annotated[int, Field(ge=0, le=100)]
    committee_village_lead: Annotated[int, Field(ge=0, le=100)]
    salary_subjects: list[Annotated[str, Field(max_length=20)]] = Field(max_length=50)
    image_distance: Annotated[int, Field(ge=0, le=100)]
    originals_before_payment: bool


def _policy_out(township: OrgUnit, changed: bool | None = None) -> ControlPolicyOut:
    typed = controls.settings_input(q.control_rules(township))
    versions = q.control_policy_versions(township)
    return ControlPolicyOut(
        township=unit_out(township), version=versions[0].version if versions else None, changed=changed,
        window_days=int(typed.window_days), quorum=typed.quorum,
        committee_village_supervisor=int(typed.committee_village_supervisor),
        committee_village_lead=int(typed.committee_village_lead), salary_subjects=typed.salary_subjects.split(),
        image_distance=int(typed.image_distance), originals_before_payment=typed.originals_before_payment,
        versions=[PolicyVersionOut(version=v.version, published_at=v.created_at) for v in versions])


@api.operation("GET", "/townships/<code>/control-policy", summary="乡镇的审核规则", tag=TAG_REGISTER,
               response=ControlPolicyOut, description="code：乡镇编码。当前版本及版本记录。区管理员可见，其他人 404。")
def get_control_policy(code: str) -> ControlPolicyOut:
    return _policy_out(_township(code))


@api.operation("PUT", "/townships/<code>/control-policy", summary="发布审核规则的新版本", tag=TAG_REGISTER,
               body=ControlPolicyIn, response=ControlPolicyOut,
               description="整体替换；与当前版本不同时发布新版本（旧版本保留，记入系统台账），相同则 changed 为 false。"
                           "累计期间 1–366 天，须同意的人数 1–9，照片相似度阈值 1–20。")
def put_control_policy(code: str, body: ControlPolicyIn) -> ControlPolicyOut:
    township = _township(code)
    row = controls.publish_control_settings(current_user, township, controls.ControlSettingsInput(
        window_days=str(body.window_days), quorum=body.quorum, image_distance=str(body.image_distance),
        salary_subjects=" ".join(body.salary_subjects),
        committee_village_supervisor=str(body.committee_village_supervisor),
        committee_village_lead=str(body.committee_village_lead),
        originals_before_payment=body.originals_before_payment))
    return _policy_out(township, changed=row is not None)


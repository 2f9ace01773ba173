"""The checks the request services call: `check_request(request, stage, approver=None)` runs every control
and returns a `ControlReport`; `must_recuse(approver, request)` tells whether an approver must stand aside.

The interface (the request services call it in the submit and approve transactions):

    report = check_request(req, Stage.SUBMIT)            # at submit, before the state changes
    if report.refusals: raise RequestError(...)          # nothing saved; show report.refusals
    route by report.route_amount (or add report.extra_roles) # cumulative bands, related payees
    trail: put report.to_trail() into the submit event's `after` under "controls"

    report = check_request(req, Stage.APPROVE, approver=user)   # at approve (and to render the page)
    if report.recuse: the approver may not act (须回避); the step goes to another holder of the role
    show report.warnings before the buttons; record report.to_trail() in the approve event

At SUBMIT the check also stores the perceptual hashes of the request's photos (derived data) and locks
the resolution and contract rows the request pays against (SELECT … FOR UPDATE, until the transaction
ends), so that two requests submitted at once cannot together exceed one resolution. At APPROVE only a
recusal refuses; what would refuse at submit is shown to the approver as a warning (a duplicate can
appear after submission, when another request with the same invoice was submitted).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from typing import Any

from flask_babel import gettext as _

from finance import storage
from finance.approval_policy.rules import Rules
from finance.attachment_kinds import AttachmentKind, kinds_present
from finance.auth.models import User
from finance.controls import images
from finance.controls import queries as q
from finance.controls.models import Relation, RequestControl
from finance.controls.normalise import is_business, name_key, normalise_name
from finance.controls.policy import ControlRules, bands_of
from finance.controls.services import fingerprint_attachments
from finance.db import utcnow
from finance.money import format_amount
from finance.payment_requests.models import PaymentRequest
from finance.payment_requests.route import current_step_role, rules_for
from finance.permissions import acting_role
from finance.roles import Role
from finance.workflow import Action


class Stage(StrEnum):
    SUBMIT = "submit"
    APPROVE = "approve"


class Severity(StrEnum):
    REFUSE = "refuse"  # the action cannot go ahead
    WARN = "warn"  # shown to the approver before the buttons
    NOTE = "note"  # shown for information (e.g. a similar photo with a different invoice number)


class Code(StrEnum):
    INVOICE_FACTS_MISSING = "invoice_facts_missing"
    INVOICE_NUMBER_USED = "invoice_number_used"
    INVOICE_PHOTO_REUSED = "invoice_photo_reused"
    INVOICE_SUM_DIFFERS = "invoice_sum_differs"
    BUSINESS_NEEDS_INVOICE = "business_needs_invoice"
    SELF_PAYEE_NEEDS_INVOICE = "self_payee_needs_invoice"
    RELATED_PAYEE = "related_payee"
    RECUSAL = "recusal"
    CUMULATIVE_BAND = "cumulative_band"
    BAND_REQUIREMENT_MISSING = "band_requirement_missing"
    COMMITMENT_EXCEEDED = "commitment_exceeded"
    RESULT_PUBLICITY_MISSING = "result_publicity_missing"
    RESOLUTION_REQUIRED = "resolution_required"
    NEGATIVE_LIST = "negative_list"


@dataclass(frozen=True)
class Finding:
    code: Code
    severity: Severity
    message: str  # Chinese (or the page's language), ready to show
    evidence: dict[str, Any] = field(default_factory=dict)  # JSON-able: numbers, ids, amounts as strings

    def to_trail(self) -> dict[str, Any]:
        return {"code": self.code.value, "severity": self.severity.value, "message": self.message,
                "evidence": self.evidence}


@dataclass
class ControlReport:
    """What the controls found on one request at one stage."""

    stage: Stage
    request_id: int
    findings: list[Finding] = field(default_factory=list)
    route_amount: Decimal | None = None  # route as if the request were this amount (cumulative band)
    extra_roles: tuple[Role, ...] = ()  # steps to add whatever the amount (related payee, band crossed)
    recuse: bool = False  # the approver asked about must not act on it (须回避)

    @property
    def refusals(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == Severity.REFUSE]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == Severity.WARN]

    @property
    def notes(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == Severity.NOTE]

    @property
    def blocked(self) -> bool:
        return bool(self.refusals)

    def codes(self) -> set[Code]:
        return {f.code for f in self.findings}

    def to_trail(self) -> dict[str, Any]:
        """The report as an audit event records it (put it in the submit/approve event's `after`)."""
        return {"stage": self.stage.value, "findings": [f.to_trail() for f in self.findings],
                "route_amount": self.route_amount, "extra_roles": [r.value for r in self.extra_roles],
                "recuse": self.recuse}

    def add(self, finding: Finding) -> None:
        self.findings.append(finding)

    def need(self, *roles: Role) -> None:
        self.extra_roles = tuple(dict.fromkeys([*self.extra_roles, *roles]))


def _amount(value: Decimal) -> str:
    return format_amount(value)


# --- the entry point -------------------------------------------------------------------------------------

def check_request(req: PaymentRequest, stage: Stage, approver: User | None = None) -> ControlReport:
    """Run every control on `req` at `stage` (see the module doc for the contract with the services)."""
    return _run(req, stage, approver, prepare=True)


def preview_report(req: PaymentRequest, viewer: Any = None) -> ControlReport:
    """The report a page shows (read-only: no lock, no hashes stored): what submitting would meet for a
    draft or returned request, what the approver weighs for one in approval. `viewer` is asked about
    recusal when they hold the current step."""
    if req.state.editable:
        return _run(req, Stage.SUBMIT, None, prepare=False)
    approver = viewer if viewer is not None and getattr(viewer, "is_authenticated", False) and (
        acting_role(viewer, req, Action.APPROVE) is not None or must_recuse_here(viewer, req)) else None
    return _run(req, Stage.APPROVE, approver, prepare=False)


def must_recuse_here(user: Any, req: PaymentRequest) -> bool:
    """Does `user` hold the current step's role over the village and must recuse on it (the permission
    then refuses them the step; the page says why)?"""
    role = current_step_role(req)
    return role is not None and role in user.roles_at(req.village) and bool(q.recusal_matches(user.id, req))


def _run(req: PaymentRequest, stage: Stage, approver: User | None, *, prepare: bool) -> ControlReport:
    township = req.village.township
    rules = q.control_rules(township)
    routing = rules_for(req)
    link = q.link_of(req)
    report = ControlReport(stage=stage, request_id=req.id)
    if stage == Stage.SUBMIT and prepare:
        fingerprint_attachments(req)
        if link is not None:
            q.lock_for_update(link)
    check_invoices(req, rules, report)
    check_related_payee(req, rules, report)
    check_commitments(req, link, routing, report)
    check_cumulative(req, link, rules, routing, report)
    check_negative_list(req, township, report)
    if approver is not None:
        matches = must_recuse(approver, req)
        if matches:
            report.recuse = True
            report.need(Role.TOWNSHIP_LEADER)
            m = matches[0]
            report.add(Finding(Code.RECUSAL, Severity.REFUSE, _(
                "须回避：收款人的%(via)s属于您登记的%(relation)s“%(name)s”，此步由其他同级人员或上一级办理。",
                via=_via_label(m.via), relation=m.person.relation.label, name=m.person.name),
                {"approver_id": approver.id, "person_id": m.person.id, "relation": m.person.relation.value,
                 "via": m.via}))
    if stage == Stage.APPROVE:  # only a recusal refuses an approver; the rest is theirs to weigh
        report.findings = [f if f.code == Code.RECUSAL or f.severity != Severity.REFUSE
                           else replace(f, severity=Severity.WARN) for f in report.findings]
    return report


def _via_label(via: str) -> str:
    return _("身份证号") if via == "id_number" else _("银行账号")


# --- invoices --------------------------------------------------------------------------------------------

def check_invoices(req: PaymentRequest, rules: ControlRules, report: ControlReport) -> None:
    """Facts typed for every 发票; no invoice used twice in the district; no photo of an invoice already
    used; a business paid on a 发票; the invoices' sum against the amount."""
    facts = q.invoice_facts(req)
    invoices = [a for a in req.attachments if a.kind == AttachmentKind.INVOICE]
    for att in invoices:
        if att.id not in facts:
            report.add(Finding(Code.INVOICE_FACTS_MISSING, Severity.REFUSE, _(
                "发票“%(file)s”还没有录入发票号码、开票日期、销售方和金额。", file=att.filename),
                {"attachment_id": att.id}))
    seen: dict[str, int | None] = {}
    for fact in facts.values():
        if fact.dup_key in seen:
            report.add(Finding(Code.INVOICE_NUMBER_USED, Severity.REFUSE, _(
                "发票号码 %(number)s 在本申请中录入了两次。", number=fact.number),
                {"number": fact.number, "attachment_ids": [seen[fact.dup_key], fact.attachment_id]}))
        seen[fact.dup_key] = fact.attachment_id
    earlier = q.earlier_invoice_uses(req, seen)
    for fact in facts.values():
        for use in earlier.get(fact.dup_key, [])[:1]:
            report.add(Finding(Code.INVOICE_NUMBER_USED, Severity.REFUSE, _(
                "发票号码 %(number)s 已用于申请 %(other)s（%(village)s，%(state)s），同一张发票不能重复报销。",
                number=fact.number, other=use.number or use.request_id, village=use.village, state=use.state.label),
                {"number": fact.number, "attachment_id": fact.attachment_id, "other_request_id": use.request_id,
                 "other_request": use.number, "other_attachment_id": use.attachment_id}))
    _check_photos(req, facts, rules, report)
    voucher_kinds = {a.kind for a in req.attachments if a.kind.voucher}
    if req.payee_name and is_business(req.payee_name) and voucher_kinds and AttachmentKind.INVOICE not in voucher_kinds:
        report.add(Finding(Code.BUSINESS_NEEDS_INVOICE, Severity.REFUSE, _(
            "收款人“%(payee)s”是企业或个体商户，须附发票；收据、签收单不能作为入账凭证。", payee=req.payee_name),
            {"payee": req.payee_name}))
    if facts and req.amount is not None:
        total = q.money_sum(f.amount for f in facts.values())
        if total != req.amount:
            report.add(Finding(Code.INVOICE_SUM_DIFFERS, Severity.WARN, _(
                "%(n)d 张发票合计 %(total)s 元，申请金额 %(amount)s 元，相差 %(diff)s 元。", n=len(facts),
                total=_amount(total), amount=_amount(req.amount), diff=_amount(abs(total - req.amount))),
                {"invoices_total": str(total), "amount": str(req.amount), "count": len(facts)}))


def _check_photos(req: PaymentRequest, facts: dict[int, Any], rules: ControlRules, report: ControlReport) -> None:
    mine = q.fingerprints_of(req)
    if not mine:
        return
    others = q.district_fingerprints(req)
    if not others:
        return
    for att_id, fp in mine.items():
        candidates = list(_rotations(fp.sha256)) or [fp.phash]
        best = None
        for other_fp, other_req, other_key in others:
            d = images.nearest(candidates, other_fp.phash)
            if d <= rules.image_distance and (best is None or d < best[0]):
                best = (d, other_fp, other_req, other_key)
        if best is None:
            continue
        d, other_fp, other_req, other_key = best
        fact = facts.get(att_id)
        distinct = other_fp.sha256 != fp.sha256 and _different(
            fp.sha256, other_fp.sha256, images.best_turn(candidates, other_fp.phash))
        evidence = {"attachment_id": att_id, "other_attachment_id": other_fp.attachment_id,
                    "other_request_id": other_req.id, "other_request": other_req.number, "distance": d,
                    "same_file": other_fp.sha256 == fp.sha256, "different_content": distinct}
        if distinct and (fact is None or other_key is None or other_key != fact.dup_key):
            # Two invoices on one template (a petrol station's receipts of one week) look alike.
            report.add(Finding(Code.INVOICE_PHOTO_REUSED, Severity.NOTE, _(
                "票据照片与申请 %(other)s 的票据版式相似，但内容不同，请对照两张照片核对号码。",
                other=other_req.number or other_req.id), evidence))
        else:
            report.add(Finding(Code.INVOICE_PHOTO_REUSED, Severity.WARN, _(
                "票据照片与申请 %(other)s 已用过的票据照片高度相似（可能是同一张票据翻拍、旋转或裁剪），请对照核实。",
                other=other_req.number or other_req.id), evidence))


# The photo checks are pure functions of stored bytes, which are named by their SHA-256 and never change:
# their results are kept for the process (each approval of each request would otherwise decode and
# compare the same pairs again).
@lru_cache(maxsize=2048)
def _rotations(sha256: str) -> tuple[str, ...]:
    data = _read(sha256)
    return tuple(images.rotations(data)) if data is not None else ()


@lru_cache(maxsize=4096)
def _different(new_sha256: str, old_sha256: str, turn: int) -> bool:
    new, old = _read(new_sha256), _read(old_sha256)
    return new is not None and old is not None and images.different_content(new, old, turn)


def _read(sha256: str) -> bytes | None:
    try:
        return storage.path_for(sha256).read_bytes()
    except (OSError, storage.StorageError):
        return None


# --- the register: related payees, 代垫, recusal ----------------------------------------------------------



def is_salary(req: PaymentRequest, rules: ControlRules) -> bool:
    subject = req.subject
    return subject is not None and (subject.code in rules.salary_subjects or "应付工资" in subject.name)


def check_related_payee(req: PaymentRequest, rules: ControlRules, report: ControlReport) -> None:
    """A payee (by normalised account or 身份证号, never by name) who is an official of the village or its
    township, or in such an official's register: a warning and a 包村领导 step, unless it is salary
    (应付工资). A payee who is the requester (代垫) needs a third party's 发票."""
    accounts, ids = q.payee_identifiers(req)
    if not accounts and not ids:
        return
    officials = q.officials_of(req.village)
    matches = q.register_matches(accounts, ids, [u.id for u in officials])
    if not matches:
        return
    salary = is_salary(req, rules)
    for m in matches:
        evidence = {"person_id": m.person.id, "official_id": m.person.official_id, "relation": m.person.relation.value,
                    "via": m.via}
        official = m.person.official
        if m.person.relation == Relation.SELF:
            message = _("收款人的%(via)s属于本村（镇）干部%(official)s本人。", via=_via_label(m.via),
                        official=official.display_name)
        else:
            message = _("收款人的%(via)s属于干部%(official)s的%(relation)s“%(name)s”（关联人登记）。",
                        via=_via_label(m.via), official=official.display_name, relation=m.person.relation.label,
                        name=m.person.name)
        if salary:
            report.add(Finding(Code.RELATED_PAYEE, Severity.NOTE, message + _("（工资类支出）"), evidence))
            continue
        report.add(Finding(Code.RELATED_PAYEE, Severity.WARN, message + _("已加包村领导审批。"), evidence))
        report.need(Role.TOWNSHIP_LEADER)
        if m.person.relation == Relation.SELF and m.person.official_id == req.requester_id:
            _needs_third_party_invoice(req, report)


def _needs_third_party_invoice(req: PaymentRequest, report: ControlReport) -> None:
    payee = name_key(req.payee_name)
    facts = q.invoice_facts(req)
    if any(f.seller_key and f.seller_key != payee for f in facts.values()):
        return
    report.add(Finding(Code.SELF_PAYEE_NEEDS_INVOICE, Severity.REFUSE, _(
        "收款人是报账员本人（代垫报销），须附第三方开具的发票并录入票面信息。"), {"requester_id": req.requester_id}))


def must_recuse(approver: User, req: PaymentRequest) -> list[q.RegisterMatch]:
    """The register lines by which `approver` must recuse on `req` (须回避): the payee's account or
    身份证号 belongs to the approver (本人) or to someone in the approver's register. Empty: no need."""
    return q.recusal_matches(approver.id, req)


# --- resolutions and contracts ---------------------------------------------------------------------------

def check_commitments(req: PaymentRequest, link: RequestControl | None, routing: Rules, report: ControlReport
                      ) -> None:
    """What a request pays against: the sum of requests against a resolution or contract cannot exceed
    its amount; a contract of a major amount needs its resolution; the 结果公开 photo comes before the
    closing instalment; a major matter (工程, 资产处置, 发包) needs a resolution whatever the amount."""
    amount = req.amount or Decimal("0")
    rules = q.control_rules(req.village.township)
    if link is None or link.resolution_id is None:
        words = _matter_words(req.purpose, rules)
        if words:
            report.add(Finding(Code.RESOLUTION_REQUIRED, Severity.REFUSE, _(
                "用途涉及“%(word)s”，按本镇规定无论金额大小都须经“四议两公开”，请先登记决议并关联。", word=words[0]),
                {"words": words}))
    if link is None:
        return
    contract, resolution = link.contract, link.resolution
    if contract is not None:
        used = q.usage(contract_id=contract.id, exclude_request_id=req.id)
        if used.committed + amount > contract.amount:
            report.add(Finding(Code.COMMITMENT_EXCEEDED, Severity.REFUSE, _(
                "合同“%(title)s”金额 %(limit)s 元，已申请 %(used)s 元，本次 %(amount)s 元将超出 %(over)s 元。",
                title=contract.title, limit=_amount(contract.amount), used=_amount(used.committed),
                amount=_amount(amount), over=_amount(used.committed + amount - contract.amount)),
                {"contract_id": contract.id, "limit": str(contract.amount), "committed": str(used.committed),
                 "requests": list(used.numbers)}))
        if resolution is None and routing.is_major(contract.amount):
            report.add(Finding(Code.RESOLUTION_REQUIRED, Severity.REFUSE, _(
                "合同金额 %(amount)s 元达到重大事项标准（%(major)s 元），须先经“四议两公开”并把决议关联到合同。",
                amount=_amount(contract.amount), major=_amount(routing.major_threshold)), {"contract_id": contract.id}))
    if resolution is not None:
        used = q.usage(resolution_id=resolution.id, exclude_request_id=req.id)
        if used.committed + amount > resolution.amount:
            report.add(Finding(Code.COMMITMENT_EXCEEDED, Severity.REFUSE, _(
                "“四议两公开”决议“%(matter)s”金额 %(limit)s 元，已申请 %(used)s 元（%(numbers)s），"
                "本次 %(amount)s 元将超出 %(over)s 元。", matter=resolution.matter, limit=_amount(resolution.amount),
                used=_amount(used.committed), numbers=_("、").join(used.numbers) or "—", amount=_amount(amount),
                over=_amount(used.committed + amount - resolution.amount)),
                {"resolution_id": resolution.id, "limit": str(resolution.amount), "committed": str(used.committed),
                 "requests": list(used.numbers)}))
        if link.instalment is not None and link.instalment.closing and not resolution.result_sha256:
            report.add(Finding(Code.RESULT_PUBLICITY_MISSING, Severity.REFUSE, _(
                "支付%(instalment)s前须上传“结果公开”照片（决议“%(matter)s”）。", instalment=link.instalment.label,
                matter=resolution.matter), {"resolution_id": resolution.id, "instalment": link.instalment.value}))


def _matter_words(purpose: str | None, rules: ControlRules) -> list[str]:
    text = normalise_name(purpose)
    return [w for kind in rules.major_matters for w in rules.matter_words.get(kind.value, ())
            if normalise_name(w) and normalise_name(w) in text]


# --- cumulative bands ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Cumulative:
    total: Decimal  # this request and the others counted with it
    band: Decimal | None  # the highest band the total reaches that this request alone does not
    basis: str  # "payee", "contract" or "resolution"
    window_days: int
    request_ids: tuple[int, ...]
    numbers: tuple[str, ...]
    reason: str


def cumulative_band(current: q.PastPayment, history: Iterable[q.PastPayment], bands: Sequence[Decimal],
                    window_days: int, now: datetime) -> Cumulative | None:
    """Pure: the sum of `current` and the village's requests within `window_days` before `now` to the same
    payee (same normalised account, or same normalised name) or under the same resolution or contract,
    and the band that sum crosses. None when no other request counts with it."""
    since = now - timedelta(days=window_days)
    mates = []
    basis = None
    for past in history:
        if past.request_id == current.request_id or past.at < since or past.at > now:
            continue
        payee = bool(current.account and past.account == current.account) or bool(
            current.name and past.name == current.name)
        contract = current.contract_id is not None and past.contract_id == current.contract_id
        resolution = current.resolution_id is not None and past.resolution_id == current.resolution_id
        if payee or contract or resolution:
            mates.append(past)
            basis = basis or ("payee" if payee else "contract" if contract else "resolution")
    if not mates or basis is None:
        return None
    total = current.amount + sum((p.amount for p in mates), Decimal("0"))
    crossed = [b for b in bands if current.amount < b <= total]
    texts = {
        "payee": _("近 %(days)d 天向同一收款人累计 %(total)s 元", days=window_days, total=_amount(total)),
        "contract": _("近 %(days)d 天同一合同下累计 %(total)s 元", days=window_days, total=_amount(total)),
        "resolution": _("近 %(days)d 天同一决议下累计 %(total)s 元", days=window_days, total=_amount(total)),
    }
    mates.sort(key=lambda p: (p.at, p.request_id))
    return Cumulative(total, max(crossed) if crossed else None, basis, window_days,
                      tuple(p.request_id for p in mates), tuple(p.number or str(p.request_id) for p in mates),
                      texts[basis])


def check_cumulative(req: PaymentRequest, link: RequestControl | None, rules: ControlRules, routing: Rules,
                     report: ControlReport) -> None:
    """The request that takes a payee's (or a resolution's, a contract's) sum across a band gets that band's
    steps and attachments. Instalments of a contract or resolution decided at or above the band are one
    matter approved as a whole: not splitting."""
    if req.amount is None:
        return
    now = req.submitted_at if report.stage == Stage.APPROVE and req.submitted_at else utcnow()
    current = q.as_past_payment(req, link, now)
    history = q.recent_payments(req, now - timedelta(days=rules.window_days))
    bands = _bands(routing)
    result = cumulative_band(current, history, bands, rules.window_days, now)
    if result is None or result.band is None:
        return
    commitment = max((c.amount for c in (link.contract, link.resolution) if c is not None), default=None) \
        if link is not None else None
    if commitment is not None and commitment >= result.band:
        return
    subject = req.subject.code if req.subject else None
    report.route_amount = result.total
    before = routing.steps_for(req.amount, subject)
    added = [s.role for s in routing.steps_for(result.total, subject) if s not in before]
    report.need(*added)
    evidence = {"total": str(result.total), "band": str(result.band), "basis": result.basis,
                "window_days": result.window_days, "requests": list(result.numbers)}
    report.add(Finding(Code.CUMULATIVE_BAND, Severity.WARN, _(
        "%(reason)s（%(numbers)s 与本次），达到 %(band)s 元一档，按该档审批。", reason=result.reason,
        numbers=_("、").join(result.numbers), band=_amount(result.band)), evidence))
    have = kinds_present(a.kind.value for a in req.attachments)
    wanted = [k for k in routing.required_attachments(result.total, subject)
              if k not in routing.required_attachments(req.amount, subject) and k not in have]
    no_resolution = link is None or link.resolution is None
    if routing.is_major(result.total) and not routing.is_major(req.amount) and no_resolution:
        wanted.append("resolution")
    if wanted:
        labels = [_("“四议两公开”决议") if k == "resolution" else AttachmentKind.requirement_label(k) for k in wanted]
        report.add(Finding(Code.BAND_REQUIREMENT_MISSING, Severity.REFUSE, _(
            "%(reason)s，达到 %(band)s 元一档，须补充：%(what)s。", reason=result.reason, band=_amount(result.band),
            what=_("、").join(labels)), {**evidence, "missing": wanted}))


def _bands(routing: Rules) -> list[Decimal]:
    return bands_of([s.min_amount for s in routing.steps], [a.min_amount for a in routing.attachments],
                    routing.major_threshold)


# --- the 负面清单 -----------------------------------------------------------------------------------------

def check_negative_list(req: PaymentRequest, township: Any, report: ControlReport) -> None:
    """Items of the township's 负面清单 whose keywords appear in the purpose, the payee or an invoice's
    seller: refused or warned, as the item says."""
    items = q.negative_items(township)
    if not items:
        return
    sellers = " ".join(f.seller for f in q.invoice_facts(req).values())
    text = normalise_name(f"{req.purpose} {req.payee_name} {sellers}")
    for item in items:
        hit = next((k for k in item.keyword_list if normalise_name(k) and normalise_name(k) in text), None)
        if hit is None:
            continue
        severity = Severity.REFUSE if item.action.value == "refuse" else Severity.WARN
        message = _("属于本镇负面清单“%(item)s”（关键词“%(word)s”），不得列支。", item=item.item, word=hit) \
            if severity == Severity.REFUSE else \
            _("可能属于本镇负面清单“%(item)s”（关键词“%(word)s”），请核实。", item=item.item, word=hit)
        report.add(Finding(Code.NEGATIVE_LIST, severity, message, {"item_id": item.id, "item": item.item,
                                                                    "keyword": hit}))

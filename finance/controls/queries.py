"""Reads for the controls: district-wide lookups (invoices, photos), the register, what a resolution or
contract has committed and paid, a village's recent payments. Requests withdrawn or rejected never count;
drafts do not count until submitted."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, func, or_, select

import audit
from audit.models import Event
from finance.auth.models import RoleAssignment, User
from finance.controls.models import (
    CommitteeVote,
    Contract,
    ControlPolicy,
    ImageFingerprint,
    InvoiceFact,
    NegativeItem,
    OriginalsReceipt,
    RelatedAccount,
    RelatedPerson,
    RequestControl,
    Resolution,
)
from finance.controls.normalise import name_key, normalise_account
from finance.controls.policy import DEFAULT_CONTROL_RULES, ControlRules, parse_control_rules
from finance.extensions import db
from finance.orgs.models import OrgUnit
from finance.payment_requests.models import Attachment, PaymentRequest
from finance.roles import OrgKind
from finance.workflow import State

# States in which a request has used what it refers to (an invoice, a share of a resolution): submitted,
# and neither withdrawn nor rejected (read off the workflow table).
LIVE_STATES = tuple(s for s in State if s.submitted and (s.paid or not s.terminal))
# States in which it counts against a resolution's or contract's amount (a returned one is being changed).
COMMITTED_STATES = tuple(s for s in LIVE_STATES if not s.editable)
PAID_STATES = tuple(s for s in State if s.paid)


def district_of(unit: OrgUnit) -> OrgUnit:
    found: OrgUnit | None = unit
    while found is not None and found.kind != OrgKind.DISTRICT:
        found = found.parent
    return found or unit


def _in_district(village: OrgUnit) -> Select[Any]:
    district = district_of(village)
    return select(OrgUnit.id).where(OrgUnit.path.startswith(district.path, autoescape=True))


def control_rules(township: OrgUnit | None) -> ControlRules:
    """The township's current control settings, or the defaults."""
    if township is None:
        return DEFAULT_CONTROL_RULES
    row = db.session.execute(select(ControlPolicy).where(ControlPolicy.township_id == township.id)
                             .order_by(ControlPolicy.version.desc()).limit(1)).scalar_one_or_none()
    return parse_control_rules(row.rules) if row is not None else DEFAULT_CONTROL_RULES


# --- invoices ---------------------------------------------------------------------------------------------

def invoice_facts(req: PaymentRequest) -> dict[int, InvoiceFact]:
    """The typed facts of the request's invoices, by attachment id."""
    rows = db.session.execute(select(InvoiceFact).where(InvoiceFact.request_id == req.id)).scalars()
    return {f.attachment_id: f for f in rows if f.attachment_id is not None}


@dataclass(frozen=True)
class EarlierUse:
    request_id: int
    number: str | None
    state: State
    village: str
    attachment_id: int | None
    invoice_number: str | None = None
    distance: int | None = None


def earlier_invoice_uses(req: PaymentRequest, dup_keys: Iterable[str]) -> dict[str, list[EarlierUse]]:
    """Other live requests anywhere in the district carrying an invoice with one of these keys."""
    keys = list(set(dup_keys))
    if not keys:
        return {}
    rows = db.session.execute(
        select(InvoiceFact.dup_key, InvoiceFact.attachment_id, InvoiceFact.number, PaymentRequest.id,
               PaymentRequest.number, PaymentRequest.state, OrgUnit.name)
        .join(PaymentRequest, PaymentRequest.id == InvoiceFact.request_id)
        .join(OrgUnit, OrgUnit.id == PaymentRequest.village_id)
        .where(InvoiceFact.dup_key.in_(keys), PaymentRequest.id != req.id, PaymentRequest.state.in_(LIVE_STATES),
               PaymentRequest.village_id.in_(_in_district(req.village)))
        .order_by(PaymentRequest.id)
    ).all()
    out: dict[str, list[EarlierUse]] = {}
    for key, att_id, inv_number, req_id, number, state, village in rows:
        out.setdefault(key, []).append(EarlierUse(req_id, number, state, village, att_id, inv_number))
    return out


def fingerprints_of(req: PaymentRequest) -> dict[int, ImageFingerprint]:
    rows = db.session.execute(select(ImageFingerprint).where(ImageFingerprint.request_id == req.id)).scalars()
    return {f.attachment_id: f for f in rows}


def district_fingerprints(req: PaymentRequest) -> list[tuple[ImageFingerprint, PaymentRequest, str | None]]:
    """Every stored photo hash of other live requests in the district, with its request and the invoice
    number typed for it (if any). Compared in Python: 64-bit hashes, a few hundred thousand at most."""
    rows = db.session.execute(
        select(ImageFingerprint, PaymentRequest, InvoiceFact.dup_key)
        .join(PaymentRequest, PaymentRequest.id == ImageFingerprint.request_id)
        .outerjoin(InvoiceFact, InvoiceFact.attachment_id == ImageFingerprint.attachment_id)
        .where(PaymentRequest.id != req.id, PaymentRequest.state.in_(LIVE_STATES),
               PaymentRequest.village_id.in_(_in_district(req.village)))
    ).all()
    return [(fp, r, key) for fp, r, key in rows]


def attachment_of(attachment_id: int) -> Attachment | None:
    return db.session.get(Attachment, attachment_id)


# --- the register -----------------------------------------------------------------------------------------

def officials_of(village: OrgUnit) -> list[User]:
    """The officials of a village: whoever holds a role at the village or at its township."""
    units = [village.id] + ([village.township.id] if village.township is not None else [])
    return list(db.session.execute(
        select(User).join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(RoleAssignment.org_unit_id.in_(units)).distinct()).scalars())


@dataclass(frozen=True)
class RegisterMatch:
    person: RelatedPerson
    via: str  # "account" or "id_number"
    value: str


def register_matches(accounts: Iterable[str], id_numbers: Iterable[str], official_ids: Iterable[int]
                     ) -> list[RegisterMatch]:
    """Active register lines of these officials whose account or 身份证号 is one of these (normalised).
    Never by name."""
    accounts = {normalise_account(a) for a in accounts if normalise_account(a)}
    ids = {i for i in id_numbers if i}
    officials = set(official_ids)
    if not (accounts or ids) or not officials:
        return []
    conditions = []
    if accounts:
        conditions.append(RelatedPerson.id.in_(select(RelatedAccount.person_id)
                                               .where(RelatedAccount.account.in_(accounts))))
    if ids:
        conditions.append(RelatedPerson.id_number.in_(ids))
    people = db.session.execute(select(RelatedPerson).where(
        RelatedPerson.active.is_(True), RelatedPerson.official_id.in_(officials), or_(*conditions))
        .order_by(RelatedPerson.id)).scalars().unique()
    out = []
    for person in people:
        if person.id_number and person.id_number in ids:
            out.append(RegisterMatch(person, "id_number", person.id_number))
        else:
            hit = next(a.account for a in person.accounts if a.account in accounts)
            out.append(RegisterMatch(person, "account", hit))
    return out


def payee_identifiers(req: PaymentRequest) -> tuple[list[str], list[str]]:
    """The payee's normalised account and 身份证号 (from the request's link), the keys of the register."""
    account = normalise_account(req.payee_account)
    link = link_of(req) if req.id is not None else None
    ids = [link.payee_id_number] if link is not None and link.payee_id_number else []
    return ([account] if account else []), ids


def recusal_matches(official_id: int, req: PaymentRequest) -> list[RegisterMatch]:
    """The register lines by which this official must recuse on `req` (须回避): the payee's account or
    身份证号 is his own (本人) or a registered relative's. Never by name. (Asked by the permission on every
    step approver's move, so an official with no register line costs one small query.)"""
    if db.session.execute(select(RelatedPerson.id).where(
            RelatedPerson.official_id == official_id, RelatedPerson.active.is_(True)).limit(1)).first() is None:
        return []
    accounts, ids = payee_identifiers(req)
    return register_matches(accounts, ids, [official_id])


def recusal_sql(official_id: int) -> ColumnElement[bool]:
    """`recusal_matches` as a condition on PaymentRequest rows (the to-do count asks it in SQL): the
    payee's account (digits; the column keeps only digits and spaces) or linked 身份证号 is in this
    official's register."""
    by_account = exists(select(RelatedAccount.id).join(RelatedPerson, RelatedPerson.id == RelatedAccount.person_id)
                        .where(RelatedPerson.official_id == official_id, RelatedPerson.active.is_(True),
                               RelatedAccount.account == func.replace(PaymentRequest.payee_account, " ", "")))
    by_id = exists(select(RequestControl.id).join(RelatedPerson, RelatedPerson.id_number ==
                                                  RequestControl.payee_id_number)
                   .where(RequestControl.request_id == PaymentRequest.id, RelatedPerson.official_id == official_id,
                          RelatedPerson.active.is_(True)))
    return or_(by_account, by_id)


def committee_votes(req: PaymentRequest) -> list[CommitteeVote]:
    """The votes cast at the request's current step in its current round (a committee step)."""
    return list(db.session.execute(select(CommitteeVote).where(
        CommitteeVote.request_id == req.id, CommitteeVote.round == req.round, CommitteeVote.step == req.step)
        .order_by(CommitteeVote.id)).scalars())


def originals_receipt(req: PaymentRequest) -> OriginalsReceipt | None:
    return db.session.execute(select(OriginalsReceipt).where(OriginalsReceipt.request_id == req.id)
                              ).scalar_one_or_none()


def register_of(officials: Iterable[User], include_inactive: bool = False) -> list[RelatedPerson]:
    ids = [u.id for u in officials]
    if not ids:
        return []
    stmt = select(RelatedPerson).where(RelatedPerson.official_id.in_(ids))
    if not include_inactive:
        stmt = stmt.where(RelatedPerson.active.is_(True))
    return list(db.session.execute(stmt.order_by(RelatedPerson.official_id, RelatedPerson.id)).scalars())


# --- resolutions and contracts ---------------------------------------------------------------------------

def link_of(req: PaymentRequest) -> RequestControl | None:
    return db.session.execute(select(RequestControl).where(RequestControl.request_id == req.id)).scalar_one_or_none()


def _money(value: Any) -> Decimal:
    return Decimal(value or 0).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class Usage:
    """What the requests against a resolution or contract add up to (this request excluded)."""

    committed: Decimal  # pending, approved, paid
    paid: Decimal
    numbers: tuple[str, ...]


def usage(*, resolution_id: int | None = None, contract_id: int | None = None, exclude_request_id: int | None = None
          ) -> Usage:
    column = RequestControl.contract_id if contract_id is not None else RequestControl.resolution_id
    target = contract_id if contract_id is not None else resolution_id
    stmt = (select(PaymentRequest.amount, PaymentRequest.state, PaymentRequest.number)
            .join(RequestControl, RequestControl.request_id == PaymentRequest.id)
            .where(column == target, PaymentRequest.state.in_(COMMITTED_STATES)))
    if exclude_request_id is not None:
        stmt = stmt.where(PaymentRequest.id != exclude_request_id)
    rows = db.session.execute(stmt.order_by(PaymentRequest.id)).all()
    committed = sum((_money(a) for a, _s, _n in rows), Decimal("0.00"))
    paid = sum((_money(a) for a, s, _n in rows if s in PAID_STATES), Decimal("0.00"))
    return Usage(committed, paid, tuple(n for _a, _s, n in rows if n))


def lock_for_update(link: RequestControl) -> None:
    """SELECT … FOR UPDATE the resolution and contract rows a request pays against, in a fixed order
    (resolution, then contract), so two submits against one of them run one after the other on
    PostgreSQL and the second sees the first's amount. SQLite serialises writers already (BEGIN
    IMMEDIATE, finance.db). The lock lasts until the caller's transaction ends."""
    if link.resolution_id is not None:
        db.session.execute(select(Resolution.id).where(Resolution.id == link.resolution_id).with_for_update())
    if link.contract_id is not None:
        db.session.execute(select(Contract.id).where(Contract.id == link.contract_id).with_for_update())


def resolutions_of(village: OrgUnit) -> list[Resolution]:
    return list(db.session.execute(select(Resolution).where(Resolution.village_id == village.id)
                                   .order_by(Resolution.meeting_date.desc(), Resolution.id.desc())).scalars())


def contracts_of(village: OrgUnit) -> list[Contract]:
    return list(db.session.execute(select(Contract).where(Contract.village_id == village.id)
                                   .order_by(Contract.signed_on.desc(), Contract.id.desc())).scalars())


def instalments_of(contract: Contract) -> list[tuple[PaymentRequest, RequestControl]]:
    """The requests paying a contract, oldest first, with their instalment."""
    return [(r, c) for r, c in db.session.execute(
        select(PaymentRequest, RequestControl).join(RequestControl, RequestControl.request_id == PaymentRequest.id)
        .where(RequestControl.contract_id == contract.id).order_by(PaymentRequest.id)).all()]


# --- recent payments of a village (cumulative bands) ----------------------------------------------------

@dataclass(frozen=True)
class PastPayment:
    """A request as the cumulative-band function sees it."""

    request_id: int
    number: str | None
    amount: Decimal
    at: datetime
    account: str  # normalised
    name: str  # name_key
    resolution_id: int | None = None
    contract_id: int | None = None


def as_past_payment(req: PaymentRequest, link: RequestControl | None, at: datetime) -> PastPayment:
    return PastPayment(req.id, req.number, req.amount or Decimal("0"), at, normalise_account(req.payee_account),
                       name_key(req.payee_name), link.resolution_id if link else None,
                       link.contract_id if link else None)


def recent_payments(req: PaymentRequest, since: datetime) -> list[PastPayment]:
    """The village's other live requests submitted since `since`."""
    rows = db.session.execute(
        select(PaymentRequest, RequestControl)
        .outerjoin(RequestControl, RequestControl.request_id == PaymentRequest.id)
        .where(PaymentRequest.village_id == req.village_id, PaymentRequest.id != req.id,
               PaymentRequest.state.in_(LIVE_STATES), PaymentRequest.submitted_at >= since)
    ).all()
    return [as_past_payment(r, c, r.submitted_at) for r, c in rows if r.submitted_at is not None]


# --- the 负面清单 -------------------------------------------------------------------------------------------

def negative_items(township: OrgUnit | None, include_inactive: bool = False) -> list[NegativeItem]:
    if township is None:
        return []
    stmt = select(NegativeItem).where(NegativeItem.township_id == township.id)
    if not include_inactive:
        stmt = stmt.where(NegativeItem.active.is_(True))
    return list(db.session.execute(stmt.order_by(NegativeItem.id)).scalars())


def money_sum(values: Iterable[Decimal | None]) -> Decimal:
    return sum((_money(v) for v in values), Decimal("0.00"))


def earlier_request(request_id: int) -> PaymentRequest | None:
    return db.session.get(PaymentRequest, request_id)


def user_by_id(user_id: int) -> User | None:
    return db.session.get(User, user_id)


def contract_committed(resolution_id: int) -> Decimal:
    return money_sum(db.session.execute(select(Contract.amount).where(Contract.resolution_id == resolution_id))
                     .scalars())




def township_officials(township: OrgUnit) -> list[tuple[OrgUnit, list[User]]]:
    """The units of a township (itself first) with the users holding a role at each."""
    units = list(db.session.execute(select(OrgUnit).where(
        OrgUnit.path.startswith(township.path, autoescape=True)).order_by(OrgUnit.path)).scalars())
    out = []
    for unit in units:
        users = list(db.session.execute(
            select(User).join(RoleAssignment, RoleAssignment.user_id == User.id)
            .where(RoleAssignment.org_unit_id == unit.id).distinct().order_by(User.username)).scalars())
        if users:
            out.append((unit, users))
    return out


def system_history(subject_type: str, subject_id: int) -> list[Event]:
    """The system chain's events about one record (a register line), oldest first."""
    return list(db.session.execute(select(Event).where(
        Event.chain_id == audit.SYSTEM_CHAIN, Event.subject_type == str(subject_type),
        Event.subject_id == str(subject_id)).order_by(Event.seq)).scalars())


def negative_item(item_id: int) -> NegativeItem | None:
    return db.session.get(NegativeItem, item_id)


def resolution(resolution_id: int) -> Resolution | None:
    return db.session.get(Resolution, resolution_id)


def contract(contract_id: int) -> Contract | None:
    return db.session.get(Contract, contract_id)


def unit(unit_id: int) -> OrgUnit | None:
    return db.session.get(OrgUnit, unit_id)


def person(person_id: int) -> RelatedPerson | None:
    return db.session.get(RelatedPerson, person_id)


@dataclass(frozen=True)
class TrailControls:
    """What the controls said on a request's current round, as its events recorded it: the findings shown
    at submission and to each approver (warnings and refusals, each once), and the steps moved by recusal."""

    findings: list[dict[str, Any]]
    recusals: list[dict[str, Any]]
    committee: list[dict[str, Any]]


def trail_controls(req: PaymentRequest) -> TrailControls:
    rows = list(db.session.execute(select(Event.action, Event.after).where(
        Event.subject_type == "payment_request", Event.subject_id == str(req.id),
        Event.action.in_(("submit", "approve", "committee_vote"))).order_by(Event.id)).all())
    starts = [i for i, (action, _after) in enumerate(rows) if action == "submit"]
    rows = rows[starts[-1]:] if starts else []
    findings: dict[str, dict[str, Any]] = {}
    recusals: list[dict[str, Any]] = []
    committee: list[dict[str, Any]] = []
    for _action, after in rows:
        data = json.loads(after) if after else {}
        for finding in (data.get("controls") or {}).get("findings", []):
            if finding.get("severity") in ("warn", "refuse") and finding.get("code") != "recusal":
                findings.setdefault(finding.get("message", ""), finding)
        recusals.extend(data.get("recusals") or [])
        if data.get("committee"):
            committee.append(data["committee"])
    return TrailControls(list(findings.values()), recusals, committee)


def control_policy_versions(township: OrgUnit) -> list[ControlPolicy]:
    return list(db.session.execute(select(ControlPolicy).where(ControlPolicy.township_id == township.id)
                                   .order_by(ControlPolicy.version.desc())).scalars())

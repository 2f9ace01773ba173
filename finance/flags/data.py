"""What the detectors read, loaded once per scan in a few set-wise queries: the requests to look at (all of
them on a first scan, the ones that changed on a later one), their fellows (the same village's requests
around the same time, the district's requests to the same account), approvals, invoices, attachments, the
register and the officials. Plain rows (`Req`), never ORM objects: a scan over 100,000 requests must cost
about what reading them costs.

Keys are the controls' normalisers (finance/controls/normalise.py): accounts by `normalise_account`, names
by `name_key`, invoice numbers by the stored `dup_key`, ID numbers by `normalise_id_number`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, or_, select

from finance.approval_policy.models import RoutingPolicy
from finance.approval_policy.rules import parse_rules
from finance.attachment_kinds import AttachmentKind
from finance.auth.models import RoleAssignment, User
from finance.controls.models import (
    ImageFingerprint,
    InvoiceFact,
    NegativeItem,
    RelatedAccount,
    RelatedPerson,
    Relation,
    RequestControl,
)
from finance.controls.normalise import name_key, normalise_account, normalise_id_number
from finance.controls.policy import bands_of
from finance.controls.queries import LIVE_STATES
from finance.extensions import db
from finance.flags.models import FlagPayeeKey, FlagPolicy
from finance.flags.policy import DEFAULT_FLAG_RULES, FlagRules, parse_flag_rules
from finance.orgs.models import AccountSubject, OrgUnit
from finance.payment_requests.models import Attachment, PaymentRequest, RequestAction
from finance.roles import OrgKind
from finance.workflow import Action

COUNTED = tuple(LIVE_STATES)
CHUNK = 5000


@dataclass(slots=True)
class Req:
    id: int
    number: str
    village_id: int
    state: str
    payee_name: str
    payee_account: str
    account_key: str
    name_key: str
    amount: Decimal
    at: datetime  # submitted (imported history keeps its original time)
    purpose: str
    subject_code: str | None
    subject_name: str | None
    requester_id: int
    payee_id_number: str | None
    contract_id: int | None
    resolution_id: int | None


@dataclass(slots=True)
class Approval:
    request_id: int
    actor_id: int
    role: str
    at: datetime
    step: int | None
    round: int


@dataclass(slots=True)
class Village:
    id: int
    code: str
    name: str
    township_id: int | None
    bank_account: str  # normalised


@dataclass(slots=True)
class Invoice:
    request_id: int
    attachment_id: int | None  # None: an invoice of imported history whose photo did not come over
    number: str
    dup_key: str
    seller: str
    seller_key: str
    amount: Decimal


@dataclass(slots=True)
class RegisterLine:
    person_id: int
    official_id: int
    name: str
    relation: Relation


def _chunks(values: list[Any]) -> Iterable[list[Any]]:
    for i in range(0, len(values), CHUNK):
        yield values[i:i + CHUNK]


def aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


_REQ_COLUMNS = (PaymentRequest.id, PaymentRequest.number, PaymentRequest.village_id, PaymentRequest.state,
                PaymentRequest.payee_name, PaymentRequest.payee_account, PaymentRequest.amount,
                PaymentRequest.submitted_at, PaymentRequest.created_at, PaymentRequest.purpose,
                AccountSubject.code, AccountSubject.name, PaymentRequest.requester_id,
                RequestControl.payee_id_number, RequestControl.contract_id, RequestControl.resolution_id)


def _req_select() -> Any:
    return (select(*_REQ_COLUMNS)
            .outerjoin(AccountSubject, AccountSubject.id == PaymentRequest.subject_id)
            .outerjoin(RequestControl, RequestControl.request_id == PaymentRequest.id)
            .where(PaymentRequest.state.in_(COUNTED), PaymentRequest.amount.is_not(None)))


def _row_to_req(row: Any) -> Req:
    (rid, number, village_id, state, payee_name, payee_account, amount, submitted_at, created_at, purpose,
     subject_code, subject_name, requester_id, payee_id, contract_id, resolution_id) = row
    return Req(rid, number or str(rid), village_id, str(state), payee_name or "", payee_account or "",
               normalise_account(payee_account), name_key(payee_name), amount,
               aware(submitted_at or created_at), purpose or "", subject_code, subject_name, requester_id,
               normalise_id_number(payee_id) if payee_id else None, contract_id, resolution_id)


def load_requests(where: Any = None) -> list[Req]:
    stmt = _req_select()
    if where is not None:
        stmt = stmt.where(where)
    return [_row_to_req(r) for r in db.session.execute(stmt.order_by(PaymentRequest.id))]


@dataclass
class Data:
    """The rows one scan reads. `focus` are the ids of the requests to look at; `reqs` holds them and their
    fellows (the same villages' requests in the windows the detectors look back and forward)."""

    focus: set[int]
    reqs: dict[int, Req]
    full: bool
    now: datetime
    villages: dict[int, Village] = field(default_factory=dict)
    _approvals: dict[int, list[Approval]] | None = None
    _submits: dict[int, list[datetime]] | None = None
    _invoices: dict[int, list[Invoice]] | None = None
    _kinds: dict[int, set[str]] | None = None
    _register: tuple[dict[str, list[RegisterLine]], dict[str, list[RegisterLine]]] | None = None
    _officials: dict[int, set[int]] | None = None
    _users: dict[int, str] | None = None
    _own: tuple[dict[int, set[str]], dict[int, set[str]]] | None = None
    _rules: dict[int | None, FlagRules] = field(default_factory=dict)
    _bands: dict[int | None, list[Decimal]] = field(default_factory=dict)
    _negative: dict[int | None, list[NegativeItem]] = field(default_factory=dict)

    # --- the requests ---------------------------------------------------------------------------------

    def focused(self) -> list[Req]:
        return [self.reqs[i] for i in sorted(self.focus) if i in self.reqs]

    def by_village(self) -> dict[int, list[Req]]:
        out: dict[int, list[Req]] = defaultdict(list)
        for r in self.reqs.values():
            out[r.village_id].append(r)
        for rows in out.values():
            rows.sort(key=lambda r: (r.at, r.id))
        return out

    def village(self, village_id: int) -> Village:
        return self.villages[village_id]

    def township_of(self, village_id: int) -> int | None:
        v = self.villages.get(village_id)
        return v.township_id if v else None

    # --- per township: thresholds, bands, the 负面清单 ---------------------------------------------------

    def rules(self, village_id: int) -> FlagRules:
        township = self.township_of(village_id)
        if township not in self._rules:
            row = None if township is None else db.session.execute(
                select(FlagPolicy.rules).where(FlagPolicy.township_id == township)
                .order_by(FlagPolicy.version.desc()).limit(1)).scalar_one_or_none()
            self._rules[township] = parse_flag_rules(row) if row else DEFAULT_FLAG_RULES
        return self._rules[township]

    def bands(self, village_id: int) -> list[Decimal]:
        """The township's amount bands (审批线) from its current routing policy."""
        township = self.township_of(village_id)
        if township not in self._bands:
            text = None if township is None else db.session.execute(
                select(RoutingPolicy.rules).where(RoutingPolicy.township_id == township)
                .order_by(RoutingPolicy.version.desc()).limit(1)).scalar_one_or_none()
            if text is None:
                self._bands[township] = [Decimal("10000"), Decimal("50000")]
            else:
                rules = parse_rules(text)
                self._bands[township] = bands_of([s.min_amount for s in rules.steps],
                                                 [a.min_amount for a in rules.attachments], rules.major_threshold)
        return self._bands[township]

    def negative_items(self, village_id: int) -> list[NegativeItem]:
        township = self.township_of(village_id)
        if township not in self._negative:
            self._negative[township] = [] if township is None else list(db.session.execute(
                select(NegativeItem).where(NegativeItem.township_id == township, NegativeItem.active.is_(True))
                .order_by(NegativeItem.id)).scalars())
        return self._negative[township]

    # --- approvals --------------------------------------------------------------------------------------

    def _load_actions(self) -> None:
        approvals: dict[int, list[Approval]] = defaultdict(list)
        submits: dict[int, list[datetime]] = defaultdict(list)
        ids = sorted(self.focus)
        wanted = (Action.APPROVE, Action.SUBMIT)
        stmt = select(RequestAction.request_id, RequestAction.actor_id, RequestAction.actor_role,
                      RequestAction.created_at, RequestAction.step, RequestAction.round, RequestAction.action
                      ).where(RequestAction.action.in_(wanted)).order_by(RequestAction.id)
        batches = [stmt] if self.full else [stmt.where(RequestAction.request_id.in_(c)) for c in _chunks(ids)]
        for batch in batches:
            for rid, actor, role, at, step, rnd, action in db.session.execute(batch):
                if action == Action.SUBMIT:
                    submits[rid].append(aware(at))
                else:
                    approvals[rid].append(Approval(rid, actor, str(role), aware(at), step, rnd))
        self._approvals, self._submits = approvals, submits

    def approvals(self, request_id: int) -> list[Approval]:
        if self._approvals is None:
            self._load_actions()
        assert self._approvals is not None
        return self._approvals.get(request_id, [])

    def submits(self, request_id: int) -> list[datetime]:
        if self._submits is None:
            self._load_actions()
        assert self._submits is not None
        return self._submits.get(request_id, [])

    # --- invoices and attachments -------------------------------------------------------------------------

    def invoices(self, request_id: int) -> list[Invoice]:
        if self._invoices is None:
            out: dict[int, list[Invoice]] = defaultdict(list)
            stmt = select(InvoiceFact.request_id, InvoiceFact.attachment_id, InvoiceFact.number, InvoiceFact.dup_key,
                          InvoiceFact.seller, InvoiceFact.seller_key, InvoiceFact.amount).order_by(InvoiceFact.id)
            batches = [stmt] if self.full else [stmt.where(InvoiceFact.request_id.in_(c))
                                                for c in _chunks(sorted(self.focus))]
            for batch in batches:
                for row in db.session.execute(batch):
                    out[row[0]].append(Invoice(*row))
            self._invoices = out
        return self._invoices.get(request_id, [])

    def kinds(self, request_id: int) -> set[str]:
        """The attachment kinds of a request."""
        if self._kinds is None:
            out: dict[int, set[str]] = defaultdict(set)
            stmt = select(Attachment.request_id, Attachment.kind)
            batches = [stmt] if self.full else [stmt.where(Attachment.request_id.in_(c))
                                                for c in _chunks(sorted(self.focus))]
            for batch in batches:
                for rid, kind in db.session.execute(batch):
                    out[rid].add(str(kind))
            self._kinds = out
        return self._kinds.get(request_id, set())

    # --- people: the register, officials, users' own accounts -------------------------------------------

    def register(self) -> tuple[dict[str, list[RegisterLine]], dict[str, list[RegisterLine]]]:
        """Active register lines by normalised account and by normalised ID number."""
        if self._register is None:
            by_account: dict[str, list[RegisterLine]] = defaultdict(list)
            by_id: dict[str, list[RegisterLine]] = defaultdict(list)
            lines = {}
            for pid, official, name, relation, id_number in db.session.execute(
                    select(RelatedPerson.id, RelatedPerson.official_id, RelatedPerson.name, RelatedPerson.relation,
                           RelatedPerson.id_number).where(RelatedPerson.active.is_(True))):
                line = RegisterLine(pid, official, name,
                                    relation if isinstance(relation, Relation) else Relation(relation))
                lines[pid] = line
                if id_number:
                    by_id[normalise_id_number(id_number)].append(line)
            for pid, account in db.session.execute(select(RelatedAccount.person_id, RelatedAccount.account)):
                if pid in lines and normalise_account(account):
                    by_account[normalise_account(account)].append(lines[pid])
            self._register = (by_account, by_id)
        return self._register

    def officials(self, village_id: int) -> set[int]:
        """Users holding a role at the village or at its township."""
        if self._officials is None:
            at_unit: dict[int, set[int]] = defaultdict(set)
            for user_id, unit_id in db.session.execute(select(RoleAssignment.user_id, RoleAssignment.org_unit_id)):
                at_unit[unit_id].add(user_id)
            out: dict[int, set[int]] = {}
            for vid, v in self.villages.items():
                out[vid] = set(at_unit.get(vid, set())) | set(at_unit.get(v.township_id or -1, set()))
            self._officials = out
        return self._officials.get(village_id, set())

    def user_name(self, user_id: int) -> str:
        if self._users is None:
            self._users = {uid: name for uid, name in db.session.execute(select(User.id, User.display_name))}
        return self._users.get(user_id, "")

    def own_identity(self) -> tuple[dict[int, set[str]], dict[int, set[str]]]:
        """Each official's own accounts and ID numbers (their 本人 line of the register)."""
        if self._own is None:
            accounts: dict[int, set[str]] = defaultdict(set)
            ids: dict[int, set[str]] = defaultdict(set)
            by_account, by_id = self.register()
            for key, lines in by_account.items():
                for line in lines:
                    if line.relation is Relation.SELF:
                        accounts[line.official_id].add(key)
            for key, lines in by_id.items():
                for line in lines:
                    if line.relation is Relation.SELF:
                        ids[line.official_id].add(key)
            self._own = (accounts, ids)
        return self._own


# --- loading ----------------------------------------------------------------------------------------------

def load_villages() -> dict[int, Village]:
    rows = db.session.execute(select(OrgUnit.id, OrgUnit.code, OrgUnit.name, OrgUnit.parent_id, OrgUnit.kind,
                                     OrgUnit.bank_account)).all()
    units = {r[0]: r for r in rows}
    out = {}
    for uid, code, name, parent, kind, account in rows:
        if kind != OrgKind.VILLAGE:
            continue
        township = parent
        while township is not None and units[township][4] != OrgKind.TOWNSHIP:
            township = units[township][3]
        out[uid] = Village(uid, code, name, township, normalise_account(account))
    return out


# How far around a focused request a village's fellows are read: the split window and the year of the
# concentration signal.
LOOK_BACK = timedelta(days=366)
LOOK_AHEAD = timedelta(days=31)


def load(focus_ids: Iterable[int] | None, now: datetime | None = None) -> Data:
    """The data of a scan: every counted request (`focus_ids` None: a full scan), or these requests with
    their villages' requests from a year before the earliest to a month after the latest."""
    now = now or datetime.now(UTC)
    villages = load_villages()
    if focus_ids is None:
        reqs = {r.id: r for r in load_requests()}
        return Data(set(reqs), reqs, True, now, villages)
    ids = sorted(set(focus_ids))
    focused: list[Req] = []
    for chunk in _chunks(ids):
        focused.extend(load_requests(PaymentRequest.id.in_(chunk)))
    reqs = {r.id: r for r in focused}
    if focused:
        by_village: dict[int, list[datetime]] = defaultdict(list)
        for r in focused:
            by_village[r.village_id].append(r.at)
        clauses = [and_(PaymentRequest.village_id == vid,
                        PaymentRequest.submitted_at >= min(ats) - LOOK_BACK,
                        PaymentRequest.submitted_at <= max(ats) + LOOK_AHEAD)
                   for vid, ats in by_village.items()]
        for chunk in _chunks(clauses):
            for r in load_requests(or_(*chunk)):
                reqs.setdefault(r.id, r)
    return Data({r.id for r in focused}, reqs, False, now, villages)


# --- across the district: fellows by key --------------------------------------------------------------------

def fellows_by_account(keys: Iterable[str]) -> dict[str, list[Req]]:
    """Counted requests anywhere whose normalised payee account is one of `keys` (by the payee-key index)."""
    out: dict[str, list[Req]] = defaultdict(list)
    wanted = sorted({k for k in keys if k})
    for chunk in _chunks(wanted):
        ids = select(FlagPayeeKey.request_id).where(FlagPayeeKey.account_key.in_(chunk))
        for r in load_requests(PaymentRequest.id.in_(ids)):
            out[r.account_key].append(r)
    return out


def invoice_uses(keys: Iterable[str]) -> dict[str, list[tuple[Invoice, Req]]]:
    """Every invoice fact with one of these `dup_key`s, with its (counted) request."""
    out: dict[str, list[tuple[Invoice, Req]]] = defaultdict(list)
    wanted = sorted(set(keys))
    for chunk in _chunks(wanted):
        facts = db.session.execute(
            select(InvoiceFact.request_id, InvoiceFact.attachment_id, InvoiceFact.number, InvoiceFact.dup_key,
                   InvoiceFact.seller, InvoiceFact.seller_key, InvoiceFact.amount)
            .where(InvoiceFact.dup_key.in_(chunk))).all()
        reqs = {r.id: r for r in load_requests(PaymentRequest.id.in_({f[0] for f in facts}))} if facts else {}
        for f in facts:
            if f[0] in reqs:
                out[f[3]].append((Invoice(*f), reqs[f[0]]))
    return out


@dataclass(slots=True)
class Photo:
    attachment_id: int
    request_id: int
    sha256: str
    phash: int | None
    filename: str


def _photos(where: Any) -> list[Photo]:
    voucher = [k.value for k in AttachmentKind if k.voucher]
    stmt = (select(Attachment.id, Attachment.request_id, Attachment.sha256, ImageFingerprint.phash,
                   Attachment.filename)
            .join(PaymentRequest, PaymentRequest.id == Attachment.request_id)
            .outerjoin(ImageFingerprint, ImageFingerprint.attachment_id == Attachment.id)
            .where(Attachment.kind.in_(voucher), PaymentRequest.state.in_(COUNTED), where))
    return [Photo(a, r, s, int(p, 16) if p else None, n) for a, r, s, p, n in db.session.execute(stmt)]


def photo_uses(request_ids: Iterable[int] | None) -> tuple[list[Photo], list[Photo]]:
    """(the focused requests' voucher photos, the photos to compare them with): on a full scan both are every
    counted request's voucher photos; else the second holds the photos sharing a file with the focused
    ones and every photo that has a perceptual hash."""
    if request_ids is None:
        every = _photos(True)
        return every, every
    mine: list[Photo] = []
    for chunk in _chunks(sorted(set(request_ids))):
        mine.extend(_photos(Attachment.request_id.in_(chunk)))
    shas = sorted({p.sha256 for p in mine})
    others: dict[int, Photo] = {}
    for chunk in _chunks(shas):
        for p in _photos(Attachment.sha256.in_(chunk)):
            others[p.attachment_id] = p
    if any(p.phash is not None for p in mine):
        for p in _photos(ImageFingerprint.phash.is_not(None)):
            others[p.attachment_id] = p
    return mine, list(others.values())

"""Every model, imported in one place for Alembic and the CLI."""

from audit.models import AuditBase, ChainHead, Checkpoint, Event
from finance.api.models import ApiToken, IdempotencyKey
from finance.auth.models import Activation, LoginSession, RoleAssignment, User
from finance.bank.models import (
    BankAccount,
    BankException,
    BankMatch,
    BankSettings,
    MonthClose,
    Receipt,
    StatementImport,
    StatementLine,
)
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
from finance.db import Base
from finance.delegations.models import Delegation
from finance.flags.models import FlagPayeeKey, FlagPolicy, FlagScanState, RiskFlag, RiskFlagRequest
from finance.imports.models import ImportBatch
from finance.notices.models import Notice, NoticeDelivery, NoticePolicy, NoticeSetting
from finance.orgs.models import AccountSubject, Member, OrgUnit
from finance.oversight.models import PaymentHold, Question
from finance.payment_requests.models import (
    Attachment,
    HistoryReceipt,
    HistoryRecord,
    PaymentRequest,
    RequestAction,
    RoutingPolicy,
)
from finance.payments.models import Payment
from finance.ratelimit import RateLimit

metadata = [Base.metadata, AuditBase.metadata]

__all__ = [
    "AccountSubject", "Attachment", "AuditBase", "Base", "ChainHead", "Checkpoint", "Contract", "ControlPolicy",
    "Delegation",
    "BankAccount", "BankException", "BankMatch", "BankSettings", "MonthClose", "Receipt", "StatementImport",
    "StatementLine",
    "Event", "ImageFingerprint", "InvoiceFact", "LoginSession", "NegativeItem", "Notice", "NoticeDelivery",
    "NoticePolicy", "NoticeSetting", "OrgUnit", "Payment", "PaymentRequest", "Question", "RateLimit",
    "RelatedAccount", "RelatedPerson", "RequestAction", "RequestControl", "Resolution", "RoleAssignment",
    "RoutingPolicy", "User", "metadata",
    "FlagPayeeKey", "FlagPolicy", "FlagScanState", "PaymentHold", "RiskFlag", "RiskFlagRequest",
    "CommitteeVote", "OriginalsReceipt",
    "Activation", "HistoryReceipt", "HistoryRecord", "ImportBatch", "Member",
    "ApiToken", "IdempotencyKey",
]

"""Every model, imported in one place for Alembic and the CLI."""

from audit.models import AuditBase, ChainHead, Checkpoint, Event
from finance.api.models import ApiToken, IdempotencyKey
from finance.auth.models import LoginSession, RoleAssignment, User
from finance.controls.models import (
    Contract,
    ControlPolicy,
    ImageFingerprint,
    InvoiceFact,
    NegativeItem,
    RelatedAccount,
    RelatedPerson,
    RequestControl,
    Resolution,
)
from finance.db import Base
from finance.notices.models import Notice, NoticeDelivery, NoticePolicy, NoticeSetting
from finance.orgs.models import AccountSubject, OrgUnit
from finance.oversight.models import Question
from finance.payment_requests.models import Attachment, PaymentRequest, RequestAction, RoutingPolicy
from finance.payments.models import Payment
from finance.ratelimit import RateLimit

metadata = [Base.metadata, AuditBase.metadata]

__all__ = [
    "AccountSubject", "Attachment", "AuditBase", "Base", "ChainHead", "Checkpoint", "Contract", "ControlPolicy",
    "Event", "ImageFingerprint", "InvoiceFact", "LoginSession", "NegativeItem", "Notice", "NoticeDelivery",
    "NoticePolicy", "NoticeSetting", "OrgUnit", "Payment", "PaymentRequest", "Question", "RateLimit",
    "RelatedAccount", "RelatedPerson", "RequestAction", "RequestControl", "Resolution", "RoleAssignment",
    "RoutingPolicy", "User", "metadata",
    "ApiToken", "IdempotencyKey",
]

"""Every model, imported in one place for Alembic and the CLI."""

from audit.models import AuditBase, ChainHead, Checkpoint, Event
from finance.auth.models import LoginFailure, RoleAssignment, User
from finance.db import Base
from finance.notices.models import Notice, NoticeDelivery, NoticePolicy, NoticeSetting
from finance.orgs.models import AccountSubject, OrgUnit
from finance.oversight.models import Question
from finance.payment_requests.models import Attachment, PaymentRequest, RequestAction, RoutingPolicy
from finance.payments.models import Payment

metadata = [Base.metadata, AuditBase.metadata]

__all__ = [
    "AccountSubject", "Attachment", "AuditBase", "Base", "ChainHead", "Checkpoint", "Event", "LoginFailure",
    "Notice", "NoticeDelivery", "NoticePolicy", "NoticeSetting", "OrgUnit", "Payment", "PaymentRequest", "Question",
    "RequestAction", "RoleAssignment", "RoutingPolicy", "User", "metadata",
]

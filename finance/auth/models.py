from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from finance.db import Base, UTCDateTime, str_enum, utcnow
from finance.orgs.models import OrgUnit
from finance.roles import Role


class User(UserMixin, Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped on password change or deactivation; part of the session token, so old sessions end.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    # Set when an admin chose the password: every page asks for a new one until it is changed.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The account of a system (a bank's or the province's platform), not a person: the admin may give it
    # API tokens (finance.api.tokens).
    system_account: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    # Loaded when asked for (the signed-in user, the admin pages), not with every requester or approver
    # a request drags in.
    assignments: Mapped[list[RoleAssignment]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="RoleAssignment.id", lazy="select"
    )

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    def roles_at(self, unit: OrgUnit) -> set[Role]:
        """Roles this user holds at `unit` or at a unit above it."""
        return {a.role for a in self.assignments if a.org_unit.covers(unit)}

    def has_role(self, role: Role) -> bool:
        return any(a.role == role for a in self.assignments)

    @property
    def primary(self) -> RoleAssignment | None:
        return self.assignments[0] if self.assignments else None


class RoleAssignment(Base):
    __tablename__ = "role_assignment"
    __table_args__ = (UniqueConstraint("user_id", "role", "org_unit_id", name="uq_role_assignment"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(str_enum(Role, 32))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship(back_populates="assignments")
    org_unit: Mapped[OrgUnit] = relationship(lazy="joined")


class LoginSession(Base):
    """A signed-in browser, known to the server: the cookie carries a random token whose SHA-256 is the
    id here. Logout ends the row, so a copied cookie stops working; every request checks it."""

    __tablename__ = "login_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    client_addr: Mapped[str | None] = mapped_column(String(64))


class Activation(Base):
    """A one-time activation of an account created without a password (an imported person, EXCHANGE.md
    §2): the admin hands over the link or code, the person sets a password with it once. Only the
    code's SHA-256 is kept; issuing a new one ends the older ones."""

    __tablename__ = "account_activation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])

"""The API tokens page (/account/tokens): a user's own tokens (make one, shown once; revoke; last use),
and for an admin the tokens of the system accounts they manage. Pages of signed-in users; a token does
not open them (only a session does)."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from finance.api import tokens
from finance.api.models import ApiToken
from finance.auth.models import User
from finance.db import utcnow
from finance.errors import InputError
from finance.extensions import db
from finance.params import parse_id
from finance.web import see_other, write

bp = Blueprint("api_tokens", __name__, url_prefix="/account/tokens")


@bp.before_request
@login_required
def _signed_in() -> None:
    return None


def render_page(*, secret: str | None = None, made: ApiToken | None = None, errors: dict[str, str] | None = None,
                typed: dict[str, str] | None = None) -> str:
    systems = tokens.system_accounts_for(current_user)
    return render_template(
        "api/tokens.html", own=tokens.tokens_of(current_user),
        systems=[(u, tokens.tokens_of(u)) for u in systems], secret=secret, made=made, errors=errors or {},
        typed=typed or {}, choices=tokens.EXPIRY_CHOICES, now=utcnow(),
    )


@bp.route("", methods=["GET"])
def index() -> str:
    return render_page()


@bp.route("", methods=["POST"])
def create() -> ResponseReturnValue:
    typed = {k: request.form.get(k, "")[:200] for k in ("name", "days", "owner")}
    me: User = current_user._get_current_object()  # the user, not the proxy: the row keeps what it is given
    owner: User | None = me
    if typed["owner"]:
        owner_id = parse_id(typed["owner"])
        owner = next((u for u in tokens.system_accounts_for(me) if u.id == owner_id), None)
        if owner is None:
            abort(404)
    days = int(typed["days"]) if typed["days"].isdigit() and len(typed["days"]) < 5 else 0
    assert owner is not None

    def invalid(exc: InputError) -> str:
        return render_page(errors=dict(exc.errors) or {"name": str(exc)}, typed=typed)

    def done(made: tuple[ApiToken, str]) -> ResponseReturnValue:
        # The secret is shown on this answer alone (never stored, never in a URL): no redirect.
        return render_page(secret=made[1], made=made[0])

    return write(lambda: tokens.create_token(owner, typed["name"], days, by=me), done=done,
                 invalid=invalid)


@bp.route("/<int:token_id>/revoke", methods=["POST"])
def revoke(token_id: int) -> ResponseReturnValue:
    token = db.session.get(ApiToken, token_id)
    if token is None or not tokens.may_manage(current_user, token.user):
        abort(404)
    return write(lambda: tokens.revoke_token(token, by=current_user._get_current_object()),
                 done=lambda _none: see_other(url_for(".index"), _("令牌已撤销。")))



from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user
from werkzeug.wrappers import Response

from finance import ratelimit
from finance.auth import activation, services, sessions, throttle
from finance.auth.forms import ActivationForm, ChangePasswordForm, LoginForm
from finance.auth.redirects import safe_next
from finance.errors import InputError
from finance.extensions import db
from finance.security import client_addr
from finance.web import see_other, write

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str:
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    if form.validate_on_submit():
        username = services.normalise_username(form.username.data or "")
        device = throttle.known_device(username)
        try:
            attempt = throttle.admit(username, client_addr(), device)
        except throttle.Throttled as exc:  # nothing is committed: the request's session is discarded
            abort(429, description=_("登录失败次数过多，请 %(s)d 秒后再试。", s=exc.retry_after))
        db.session.commit()  # counted as a failure before the password is checked
        user = services.authenticate(username, form.password.data or "")
        if user is None:
            db.session.commit()
            flash(_("用户名或密码不正确。"), "error")
        else:
            throttle.succeeded(attempt)
            sessions.start(user)
            db.session.commit()
            if user.must_change_password:
                flash(_("您的密码由管理员设置，请先修改为只有您知道的密码。"), "info")
                target = url_for("auth.change_password")
            else:
                target = safe_next(request.args.get("next"))
            response = redirect(target)
            throttle.remember_device(response, user.username)
            return response
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    sessions.end()
    db.session.commit()
    return redirect(url_for("auth.login"))


OPEN_WITH_AN_ADMIN_PASSWORD = frozenset({"auth.change_password", "auth.logout", "auth.login", "static"})


@bp.before_app_request
def _own_password_first() -> Response | None:
    """Until a password an admin set is changed, every page leads to the change-password form."""
    if request.endpoint in OPEN_WITH_AN_ADMIN_PASSWORD or request.endpoint is None or request.blueprint == "api":
        return None  # the API signs in by token alone (finance.api.auth), never by this session
    g.pop("_login_user", None)  # this request's user, never one cached by an earlier request (tests share g)
    if current_user.is_authenticated and current_user.must_change_password:
        return redirect(url_for("auth.change_password"), 303)
    return None


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password() -> ResponseReturnValue:
    form = ChangePasswordForm()
    if not form.validate_on_submit():
        return render_template("auth/password.html", form=form)

    def done(_none: None) -> ResponseReturnValue:
        login_user(current_user._get_current_object())  # the session version moved; keep this session
        return see_other(url_for("home.index"), _("密码已修改。"))

    def refused(exc: InputError) -> str:
        flash(str(exc), "error")
        return render_template("auth/password.html", form=form)

    return write(lambda: services.change_password(current_user, form.current.data or "", form.new.data or "",
                                                  form.confirm.data or ""),
                 done=done, invalid=refused)


ACTIVATION_TRIES = 20  # per address and hour: a code has 60 random bits, this only stops a flood


@bp.route("/activate", methods=["GET", "POST"])
@bp.route(activation.PATH + "<code>", methods=["GET", "POST"])
def activate(code: str | None = None) -> ResponseReturnValue:
    """An imported person sets their password with the one-time code the admin handed over."""
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = ActivationForm()
    if request.method == "GET" and code:
        form.code.data = activation.normalise_code(code)
    known = activation.pending(form.code.data or "") if form.code.data else None
    if not form.validate_on_submit():
        return render_template("auth/activate.html", form=form, person=known.user if known else None)
    ratelimit.count("activate", client_addr() or "-", limit=ACTIVATION_TRIES, window=timedelta(hours=1),
                    message=_("尝试次数过多，请一小时后再试。"))
    db.session.commit()  # counted whether or not the code is good

    def done(_user: object) -> ResponseReturnValue:
        return see_other(url_for("auth.login"), _("账号已激活，请用您的用户名和新密码登录。"))

    def refused(exc: InputError) -> str:
        flash(str(exc), "error")
        return render_template("auth/activate.html", form=form, person=known.user if known else None)

    return write(lambda: activation.activate(form.code.data or "", form.new.data or "", form.confirm.data or ""),
                 done=done, invalid=refused)

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from finance.auth import services
from finance.auth.forms import ChangePasswordForm, LoginForm
from finance.errors import InputError
from finance.extensions import db
from finance.web import see_other, write

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("home.index")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str:
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.username.data or "", form.password.data or "",
                                         request.remote_addr)
        except services.Throttled as exc:
            abort(429, description=_("登录失败次数过多，请 %(s)d 秒后再试。", s=exc.retry_after))
        if user is None:
            db.session.commit()  # keep the failure for throttling
            flash(_("用户名或密码不正确。"), "error")
        else:
            db.session.commit()
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    logout_user()
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password() -> ResponseReturnValue:
    form = ChangePasswordForm()
    if not form.validate_on_submit():
        return render_template("auth/password.html", form=form)

    def done(_none: None) -> ResponseReturnValue:
        login_user(current_user)  # the session version moved; keep this session
        return see_other(url_for("home.index"), _("密码已修改。"))

    def refused(exc: InputError) -> str:
        flash(str(exc), "error")
        return render_template("auth/password.html", form=form)

    return write(lambda: services.change_password(current_user, form.current.data or "", form.new.data or "",
                                                  form.confirm.data or ""),
                 done=done, invalid=refused)

"""Sanzi (三资网报): the Flask application."""

from __future__ import annotations

import secrets
from typing import Any

from flask import Flask, g, has_request_context, render_template, request
from flask_babel import lazy_gettext as _l
from flask_babel import refresh as babel_refresh
from werkzeug.exceptions import HTTPException

from finance import config as config_module
from finance import extensions as ext
from finance.config import PROJECT_ROOT


def create_app(config: dict[str, Any] | None = None) -> Flask:
    settings = config_module.load(config)
    app = Flask(
        __name__,
        instance_path=settings["INSTANCE_PATH"],
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.update(settings)
    from finance.params import BoundedInt

    app.url_map.converters["int"] = BoundedInt  # every <int:...> of every route: 0 to the column's maximum
    register_extensions(app)
    register_blueprints(app)
    register_request_hooks(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    register_cli(app)
    register_notices(app)
    register_flags(app)
    register_api(app)
    return app


def select_locale() -> str:
    if not has_request_context():
        return "zh_Hans_CN"
    lang = request.args.get("lang") or request.cookies.get("lang")
    return "en" if lang == "en" else "zh_Hans_CN"


def register_extensions(app: Flask) -> None:
    ext.db.init_app(app)
    ext.csrf.init_app(app)
    ext.babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=str(PROJECT_ROOT / "finance" / "translations"))
    ext.login_manager.init_app(app)
    ext.login_manager.login_view = "auth.login"
    ext.login_manager.login_message = None
    ext.login_manager.session_protection = "basic"

    from finance.auth.services import load_user

    ext.login_manager.user_loader(load_user)


# The register steps import what they wire inside their bodies: the package stays light for whoever
# imports only a piece of it (Alembic's env imports finance.db and the models), not to dodge a cycle
# (tests/test_import_graph.py counts these imports as top-level ones and finds none).
def register_blueprints(app: Flask) -> None:
    from finance.auth.views import bp as auth_bp
    from finance.bank.views import bp as bank_bp
    from finance.controls.views import bp as controls_bp
    from finance.documents.views import bp as documents_bp
    from finance.home import bp as home_bp
    from finance.imports.views import bp as imports_bp
    from finance.orgs.views import bp as orgs_bp
    from finance.oversight.views import bp as oversight_bp
    from finance.payment_requests.views import bp as requests_bp
    from finance.payments.views import bp as payments_bp

    for bp in (home_bp, auth_bp, orgs_bp, requests_bp, payments_bp, oversight_bp, documents_bp,
               controls_bp, imports_bp, bank_bp):
        app.register_blueprint(bp)


def register_request_hooks(app: Flask) -> None:
    from finance import security

    @app.before_request
    def _request_id() -> None:
        g.request_id = security.request_id()
        g.csp_nonce = secrets.token_urlsafe(12)
        # Never reuse a user or CSRF token of an earlier request sharing this app context (tests do).
        g.pop("_login_user", None)
        g.pop("csrf_token", None)
        babel_refresh()  # and choose the language afresh

    @app.after_request
    def _security_headers(response: Any) -> Any:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; "
            f"script-src 'self' 'nonce-{getattr(g, 'csp_nonce', '')}'; object-src 'none'; "
            "base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
        )
        if request.endpoint == "static":  # cached for a year when versioned, compressed
            from finance.static_files import finish_static

            finish_static(response)
        if request.args.get("lang") in ("en", "zh"):
            response.set_cookie("lang", request.args["lang"], max_age=365 * 24 * 3600, samesite="Lax",
                                httponly=True, secure=app.config["SESSION_COOKIE_SECURE"])
        return response

    security.register(app)

    @app.teardown_request
    def _rollback_on_error(exc: BaseException | None) -> None:
        if exc is not None:
            ext.db.scoped.rollback()


ERROR_TEXT = {
    400: (_l("请求无效"), _l("表单已过期或不完整，请返回上一页刷新后重试。")),
    403: (_l("无权操作"), _l("您没有执行此操作的权限。")),
    404: (_l("页面不存在"), _l("您要找的内容不存在，或不在您的管辖范围内。")),
    405: (_l("操作无效"), _l("此页面不接受这种操作。")),
    409: (_l("已处理"), _l("该事项已被处理，请刷新查看最新状态。")),
    413: (_l("文件太大"), _l("上传的文件超过大小限制，请压缩后重试。")),
    429: (_l("尝试次数过多"), _l("登录失败次数过多，请一分钟后再试。")),
    500: (_l("系统出错"), _l("系统暂时出错，您的操作没有生效，请稍后重试。")),
}


def register_errorhandlers(app: Flask) -> None:
    def render_error(error: Exception) -> Any:
        if request.path.startswith("/api/"):  # the API answers every error as problem details
            from finance.api.problems import from_http_error

            ext.db.scoped.rollback()
            return from_http_error(error)
        code = error.code if isinstance(error, HTTPException) and error.code else 500
        title, text = ERROR_TEXT.get(code, ERROR_TEXT[500])
        description = getattr(error, "description", None)
        # A message the app gave abort() is shown; werkzeug's and Flask-WTF's English defaults are not.
        default = getattr(type(error), "description", None)
        if (code in (400, 409, 429) and isinstance(description, str) and description != default
                and not description.startswith(("The ", "CSRF", "Bad"))):
            text = description
        ext.db.scoped.rollback()
        return render_template("errors.html", code=code, title=str(title), text=str(text)), code

    for code in ERROR_TEXT:
        app.register_error_handler(code, render_error)

    from flask_wtf.csrf import CSRFError

    app.register_error_handler(CSRFError, render_error)


def register_template_helpers(app: Flask) -> None:
    from finance.money import amount_in_words, format_amount, typed_in_words
    from finance.permissions import Permission, can
    from finance.roles import Role
    from finance.timefmt import local_date, local_time, waited_days

    app.jinja_env.globals.update(can=can, Permission=Permission, Role=Role)
    app.jinja_env.filters.update(
        money=format_amount, capital=amount_in_words, local_time=local_time, local_date=local_date,
        waited_days=waited_days,
        typed_in_words=lambda text: typed_in_words(text, app.config["MAX_AMOUNT"]),
    )

    @app.context_processor
    def _inject() -> dict[str, Any]:
        return {"csp_nonce": getattr(g, "csp_nonce", ""), "lang": select_locale(),
                "static_url": static_url}

    def static_url(filename: str) -> str:
        from finance.static_files import versioned_url

        return versioned_url(app, filename)


def register_notices(app: Flask) -> None:
    from finance.notices.app import init_app

    init_app(app)


def register_flags(app: Flask) -> None:
    from finance.flags.app import init_app

    init_app(app)


def register_api(app: Flask) -> None:
    from finance.api.app import init_app

    init_app(app)


def register_cli(app: Flask) -> None:
    from finance.cli import register

    register(app)

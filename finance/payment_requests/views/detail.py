"""The request's page (its fields, attachments, route, history and what the user may do) and the workflow
actions taken from it: submit, approve, return, reject, withdraw."""

from __future__ import annotations

from collections.abc import Callable

from flask import flash, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from finance.attachment_kinds import AttachmentKind
from finance.errors import InputError
from finance.payment_requests import route, services
from finance.payment_requests.changes import changes_since_last_round
from finance.payment_requests.forms import kind_choices, new_key
from finance.payment_requests.models import PaymentRequest, RequestAction
from finance.payment_requests.pages import act, conflict_page, load_visible, seen_now
from finance.payment_requests.views.blueprint import bp
from finance.payments.queries import payment_of
from finance.permissions import acting_role
from finance.roles import Role
from finance.web import write
from finance.workflow import Action, actions_open, has_steps


def may_take(req: PaymentRequest) -> dict[Action, Role]:
    """The actions open in the request's state that this user may take, with the role they act in."""
    out: dict[Action, Role] = {}
    for action in actions_open(services.facts(req)):
        role = acting_role(current_user, req, action)
        if role is not None:
            out[action] = role
    return out


def rounds_of(req: PaymentRequest) -> list[tuple[int, list[RequestAction]]]:
    """The history grouped by round (each submission starts one), newest round last."""
    groups: dict[int, list[RequestAction]] = {}
    for a in req.actions:
        groups.setdefault(a.round, []).append(a)
    return sorted(groups.items())


def render_detail(
    req: PaymentRequest,
    *,
    errors: dict[str, str] | None = None,
    open_form: str | None = None,
    typed: dict[str, str] | None = None,
) -> str:
    return render_template(
        "payment_requests/detail.html",
        req=req,
        may=may_take(req),
        route=route.route_of(req),
        rounds=rounds_of(req),
        missing=services.missing_for_submit(req) if req.state.editable
        else services.missing_attachments(req) if has_steps(req.state) else {},
        changes=changes_since_last_round(req),
        payment=payment_of(req),
        status=route.status_line(req),
        waited_since=route.waited_since(req),
        last_return=route.last_return(req),
        errors=errors or {},
        open_form=open_form,
        typed=typed or {},
        new_key=new_key,
        kinds=kind_choices(),
        uploadable=AttachmentKind.uploadable(),
        chosen_kind=AttachmentKind.parse(request.args.get("kind")),
        seen=seen_now(),
        Action=Action,
    )


@bp.route("/<int:request_id>")
def detail(request_id: int) -> str:
    return render_detail(load_visible(request_id))


def _action(request_id: int, action: Action,
            call: Callable[[PaymentRequest, str | None, int | None], RequestAction | None]) -> ResponseReturnValue:
    req = load_visible(request_id)

    def invalid(exc: InputError) -> str:
        typed = {"reason": request.form.get("reason", ""), "comment": request.form.get("comment", "")}
        if action is Action.SUBMIT:
            flash(_("还不能提交：请先补充下面列出的内容。"), "error")
        return render_detail(req, errors=dict(exc.errors) or {"form": str(exc)}, open_form=action.value,
                             typed=typed)

    return act(req, action, lambda key, version: call(req, key, version), invalid)


@bp.route("/<int:request_id>/submit", methods=["POST"])
def submit(request_id: int) -> ResponseReturnValue:
    return _action(request_id, Action.SUBMIT, lambda req, key, version: services.submit(
        current_user, req, client_key=key, version=version))


@bp.route("/<int:request_id>/approve", methods=["GET", "POST"])
def approve(request_id: int) -> ResponseReturnValue:
    """GET: the confirmation of what is about to be approved (amount in figures and 大写, payee, step;
    issue 16 item 3), one extra tap that works without JS. POST (from that page): approve."""
    if request.method == "GET":
        req = load_visible(request_id)
        version = request.args.get("version", "")
        return write(lambda: services.approval_summary(current_user, req, int(version) if version.isdigit()
                                                       else None),
                     done=lambda summary: render_template("payment_requests/confirm_approve.html", req=req,
                                                          summary=summary, new_key=new_key,
                                                          seen=request.args.get("seen") or seen_now(),
                                                          changes=changes_since_last_round(req)),
                     conflict=conflict_page(req))
    return _action(request_id, Action.APPROVE, lambda req, key, version: services.approve(
        current_user, req, request.form.get("comment"), client_key=key, version=version))


@bp.route("/<int:request_id>/return", methods=["POST"])
def return_(request_id: int) -> ResponseReturnValue:
    return _action(request_id, Action.RETURN, lambda req, key, version: services.return_for_revision(
        current_user, req, request.form.get("reason", ""), client_key=key, version=version))


@bp.route("/<int:request_id>/reject", methods=["POST"])
def reject(request_id: int) -> ResponseReturnValue:
    return _action(request_id, Action.REJECT, lambda req, key, version: services.reject(
        current_user, req, request.form.get("reason", ""), client_key=key, version=version))


@bp.route("/<int:request_id>/withdraw", methods=["POST"])
def withdraw(request_id: int) -> ResponseReturnValue:
    return _action(request_id, Action.WITHDRAW, lambda req, key, version: services.withdraw(
        current_user, req, client_key=key, version=version))


@bp.route("/<int:request_id>/discard", methods=["POST"])
def discard(request_id: int) -> ResponseReturnValue:
    return _action(request_id, Action.DISCARD, lambda req, key, version: services.discard(
        current_user, req, client_key=key, version=version))

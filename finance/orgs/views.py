"""District admin pages: org units, users and roles, routing policies.

Everything here is limited to the admin's own district: a unit or user outside it is a 404, like a
missing one. Writes go through `finance.web.write`: one service call (which records its audit event),
one commit, and a refusal answered with its message.
"""

from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, abort, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from finance.approval_policy import services as policies
from finance.approval_policy.queries import current_policy, policy_history, rules_of
from finance.attachment_kinds import AttachmentKind
from finance.auth import activation
from finance.auth import services as accounts
from finance.errors import InputError
from finance.orgs import queries
from finance.orgs import services as orgs
from finance.orgs.forms import PolicyForm, RoleForm, UnitForm, UserForm, role_choices
from finance.orgs.models import OrgUnit
from finance.params import parse_id
from finance.permissions import Permission, can
from finance.roles import OrgKind, Role
from finance.web import FORM_ERROR, see_other, write

bp = Blueprint("orgs", __name__, url_prefix="/admin")

CHILD_KIND = orgs.CHILD_KIND
EXTRA_POLICY_ROWS = 1  # a blank row to add a step; publishing brings another


@bp.before_request
@login_required
def _admins_only() -> None:
    if not can(current_user, Permission.ORG_MANAGE):
        abort(404)


@bp.context_processor
def _labels() -> dict[str, object]:
    return {"attachment_label": AttachmentKind.requirement_label}


def _unit_or_404(unit_id: int) -> OrgUnit:
    unit = queries.get_unit(current_user, unit_id)
    if unit is None:
        abort(404)
    return unit


def _unit_choices() -> list[tuple[int, str]]:
    return [(u.id, _("%(name)s（%(kind)s · %(code)s）", name=u.name, kind=u.kind.label, code=u.code))
            for u in queries.units_in_scope(current_user)]


def _refused(template: str, **context: object) -> ResponseReturnValue:
    """A form that did not validate, shown again with its messages."""
    return render_template(template, error=None, **context), FORM_ERROR


# --- org units ---------------------------------------------------------------------------------------

@bp.route("/")
def index() -> str:
    units = queries.units_in_scope(current_user)
    return render_template("orgs/index.html", units=units, child_kind=CHILD_KIND)


@bp.route("/units/<int:parent_id>/new", methods=["GET", "POST"])
def new_unit(parent_id: int) -> ResponseReturnValue:
    parent = _unit_or_404(parent_id)
    kind = CHILD_KIND.get(parent.kind)
    if kind is None:
        abort(404)
    form = UnitForm()
    page = {"form": form, "parent": parent, "kind": kind}
    if not form.validate_on_submit():
        if request.method == "POST":
            return _refused("orgs/unit_form.html", **page)
        return render_template("orgs/unit_form.html", error=None, **page)
    return write(
        lambda: orgs.create_child(parent, code=form.code.data or "", name=form.name.data or "", by=current_user,
                                  bank_name=form.bank_name.data, bank_account=form.bank_account.data,
                                  bank_account_name=form.bank_account_name.data),
        done=lambda unit: see_other(url_for(".index"), _("已新建%(kind)s %(name)s。", kind=kind.label,
                                                          name=unit.name)),
        invalid=lambda exc: render_template("orgs/unit_form.html", error=str(exc), **page),
    )


# --- users and roles ---------------------------------------------------------------------------------

@bp.route("/users")
def users() -> str:
    unit_id = parse_id(request.args.get("unit"))
    unit = queries.get_unit(current_user, unit_id) if unit_id is not None else None
    text = request.args.get("q", "").strip()[:64]
    found = queries.users_in_scope(current_user, unit=unit, text=text or None)
    return render_template("orgs/users.html", users=found, unit=unit, q=text, units=_unit_choices())


@bp.route("/users/new", methods=["GET", "POST"])
def new_user() -> ResponseReturnValue:
    form = UserForm()
    form.role.choices = role_choices()
    form.org_unit.choices = _unit_choices()
    if request.method == "GET" and (preset := parse_id(request.args.get("unit"))) is not None:
        form.org_unit.data = preset
    if not form.validate_on_submit():
        if request.method == "POST":
            return _refused("orgs/user_form.html", form=form)
        return render_template("orgs/user_form.html", form=form, error=None)
    unit = _unit_or_404(form.org_unit.data)
    return write(
        lambda: accounts.create_user(
            username=form.username.data or "", display_name=form.display_name.data or "",
            password=form.password.data or "", role=Role(form.role.data), org_unit=unit, by=current_user,
            phone=(form.phone.data or "").strip() or None,
        ),
        done=lambda user: see_other(url_for(".user_detail", user_id=user.id), _(
            "已新建用户 %(name)s（%(username)s）。", name=user.display_name, username=user.username)),
        invalid=lambda exc: render_template("orgs/user_form.html", form=form, error=str(exc)),
    )


@bp.route("/users/<int:user_id>")
def user_detail(user_id: int) -> str:
    user = queries.get_user(current_user, user_id)
    if user is None:
        abort(404)
    form = RoleForm()
    form.role.choices = role_choices()
    form.org_unit.choices = _unit_choices()
    scope = {u.id for u in queries.units_in_scope(current_user)}
    return render_template("orgs/user.html", user=user, form=form, scope=scope,
                           awaiting=user.password_hash == accounts.UNUSABLE_PASSWORD)


@bp.route("/users/<int:user_id>/activation", methods=["POST"])
def new_activation(user_id: int) -> ResponseReturnValue:
    """A new one-time activation for a person who has not set a password yet (an imported person whose
    link was lost): shown once on the page answered, never stored."""
    user = queries.get_user(current_user, user_id)
    if user is None:
        abort(404)
    back = url_for(".user_detail", user_id=user.id)

    def shown(code: str) -> str:
        form = RoleForm()
        form.role.choices = role_choices()
        form.org_unit.choices = _unit_choices()
        scope = {u.id for u in queries.units_in_scope(current_user)}
        return render_template("orgs/user.html", user=user, form=form, scope=scope, awaiting=True,
                               activation={"code": code, "link": activation.link(code)})

    return write(lambda: activation.issue(user, by=current_user), done=shown, back=back)


@bp.route("/users/<int:user_id>/roles", methods=["POST"])
def add_role(user_id: int) -> ResponseReturnValue:
    user = queries.get_user(current_user, user_id)
    if user is None:
        abort(404)
    back = url_for(".user_detail", user_id=user.id)
    form = RoleForm()
    form.role.choices = role_choices()
    form.org_unit.choices = _unit_choices()
    if not form.validate_on_submit():
        return see_other(back, _("请选择角色和所属单位。"), "error")
    unit = _unit_or_404(form.org_unit.data)
    return write(lambda: accounts.assign_role(user, Role(form.role.data), unit, by=current_user),
                 done=lambda _a: see_other(back, _("已添加角色。")), back=back)


@bp.route("/users/<int:user_id>/roles/<int:assignment_id>/remove", methods=["POST"])
def remove_role(user_id: int, assignment_id: int) -> ResponseReturnValue:
    user = queries.get_user(current_user, user_id)
    if user is None:
        abort(404)
    assignment = queries.assignment_of(current_user, user, assignment_id)
    if assignment is None:
        abort(404)
    back = url_for(".user_detail", user_id=user.id)
    return write(lambda: accounts.remove_role(assignment, by=current_user),
                 done=lambda _none: see_other(back, _("已撤销角色。")), back=back)


@bp.route("/users/<int:user_id>/active", methods=["POST"])
def set_active(user_id: int) -> ResponseReturnValue:
    user = queries.get_user(current_user, user_id)
    if user is None:
        abort(404)
    active = request.form.get("active") == "1"
    back = url_for(".user_detail", user_id=user.id)
    return write(lambda: accounts.set_active(user, active, by=current_user),
                 done=lambda _none: see_other(back, _("账号已启用。") if active else _("账号已停用，其登录立即失效。")),
                 back=back)


# --- approval policies -------------------------------------------------------------------------------

@bp.route("/townships/<int:unit_id>/policy", methods=["GET", "POST"])
def policy(unit_id: int) -> ResponseReturnValue:
    township = _unit_or_404(unit_id)
    if township.kind != OrgKind.TOWNSHIP:
        abort(404)
    current = current_policy(township)
    rules = rules_of(current)
    form = PolicyForm()
    if request.method == "GET":
        for step in rules.steps:
            form.steps.append_entry({"role": step.role.value, "min_amount": _amount_text(step.min_amount),
                                     "subjects": " ".join(step.subjects)})
        for att in rules.attachments:
            form.attachments.append_entry({"kind": att.kind, "min_amount": _amount_text(att.min_amount),
                                           "subjects": " ".join(att.subjects)})
        for _n in range(EXTRA_POLICY_ROWS):
            form.steps.append_entry({})
            form.attachments.append_entry({})
        for n, row in enumerate(form.steps, start=1):
            row.form.order.data = n  # type: ignore[attr-defined]
        form.major_threshold.data = _amount_text(rules.major_threshold)
    form.set_choices()
    back = url_for(".policy", unit_id=township.id)

    def page(error: str | None) -> str:
        versions = policy_history(township)
        return render_template("orgs/policy.html", township=township, form=form, error=error,
                               history=[(p, rules_of(p)) for p in versions], subjects=queries.subject_names(),
                               current=current, publishers=queries.display_names({p.created_by_id for p in versions}))

    if request.method == "GET":
        return page(None)
    if not form.validate_on_submit():
        return page(_("请检查标出的内容。")), FORM_ERROR

    def publish() -> int | None:
        new_rules = policies.build_rules(
            [policies.StepInput(role=r.form.role.data or "", min_amount=r.form.min_amount.data or "",  # type: ignore[attr-defined]
                                subjects=r.form.subjects.data or "", order=r.form.order.data)  # type: ignore[attr-defined]
             for r in form.steps],
            [policies.AttachmentInput(kind=r.form.kind.data or "", min_amount=r.form.min_amount.data or "",  # type: ignore[attr-defined]
                                      subjects=r.form.subjects.data or "")  # type: ignore[attr-defined]
             for r in form.attachments],
            form.major_threshold.data or "",
        )
        published = policies.publish_changes(township, new_rules, by=current_user)
        return published.version if published is not None else None

    def published(version: int | None) -> ResponseReturnValue:
        if version is None:
            return see_other(back, _("流程没有改动，未发布新版本。"), "info")
        return see_other(back, _("已发布第 %(v)d 版审批流程；此后提交的申请按新版本审批，已提交的不受影响。",
                                 v=version))

    def invalid(exc: InputError) -> str:
        return page(str(exc))

    return write(publish, done=published, invalid=invalid)


def _amount_text(value: Decimal | None) -> str:
    if value is None or value == 0:
        return ""
    return f"{value.normalize():f}" if value == value.to_integral() else f"{value:f}"

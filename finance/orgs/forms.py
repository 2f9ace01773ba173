"""Forms of the district admin pages. They only carry what was typed; the services decide."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import FieldList, Form, FormField, IntegerField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from finance.attachment_kinds import AttachmentKind
from finance.roles import APPROVER_ROLES, Role


class UnitForm(FlaskForm):
    code = StringField(_l("代码"), validators=[DataRequired(_l("请填写代码。")), Length(max=32)])
    name = StringField(_l("名称"), validators=[DataRequired(_l("请填写名称。")), Length(max=100)])
    bank_name = StringField(_l("开户银行"), validators=[Optional(), Length(max=100)])
    bank_account = StringField(_l("银行账号"), validators=[Optional(), Length(max=40)])
    bank_account_name = StringField(_l("账户名称"), validators=[Optional(), Length(max=100)])


def role_choices() -> list[tuple[str, str]]:
    return [(r.value, r.label) for r in Role]


class RoleForm(FlaskForm):
    role = SelectField(_l("角色"), choices=[], validators=[DataRequired(_l("请选择角色。"))])
    org_unit = SelectField(_l("所属单位"), choices=[], coerce=int,
                           validators=[DataRequired(_l("请选择所属单位。"))])


class UserForm(RoleForm):
    username = StringField(_l("用户名"), validators=[DataRequired(_l("请填写用户名。")), Length(max=64)])
    display_name = StringField(_l("姓名"), validators=[DataRequired(_l("请填写姓名。")), Length(max=64)])
    phone = StringField(_l("手机号"), validators=[Optional(), Length(max=20)])
    password = PasswordField(_l("初始密码"), validators=[DataRequired(_l("请填写初始密码。")), Length(max=200)])


class StepRow(Form):
    order = IntegerField(_l("顺序"), validators=[Optional()])
    role = SelectField(_l("审批角色"), choices=[], validate_choice=False)
    min_amount = StringField(_l("起始金额（元）"), validators=[Optional(), Length(max=20)])
    subjects = StringField(_l("限会计科目代码"), validators=[Optional(), Length(max=200)])


class AttachmentRow(Form):
    kind = SelectField(_l("附件"), choices=[], validate_choice=False)
    min_amount = StringField(_l("起始金额（元）"), validators=[Optional(), Length(max=20)])
    subjects = StringField(_l("限会计科目代码"), validators=[Optional(), Length(max=200)])


class PolicyForm(FlaskForm):
    steps = FieldList(FormField(StepRow), min_entries=0, max_entries=12)
    attachments = FieldList(FormField(AttachmentRow), min_entries=0, max_entries=12)
    major_threshold = StringField(_l("重大事项金额（四议两公开）"),
                                  validators=[DataRequired(_l("请填写重大事项金额。")), Length(max=20)])

    def set_choices(self) -> None:
        step_choices = [("", _l("（不使用此行）"))] + [(r.value, r.label) for r in APPROVER_ROLES]
        kind_choices = [("", _l("（不使用此行）"))] + [(k.value, AttachmentKind.requirement_label(k))
                                                    for k in AttachmentKind.uploadable()]
        for row in self.steps:
            row.form.role.choices = step_choices  # type: ignore[attr-defined]
        for row in self.attachments:
            row.form.kind.choices = kind_choices  # type: ignore[attr-defined]

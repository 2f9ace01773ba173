from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired(_l("请填写用户名。")), Length(max=64)])
    password = PasswordField(_l("密码"), validators=[DataRequired(_l("请填写密码。")), Length(max=200)])


class ChangePasswordForm(FlaskForm):
    current = PasswordField(_l("当前密码"), validators=[DataRequired(_l("请填写当前密码。"))])
    new = PasswordField(_l("新密码"), validators=[DataRequired(_l("请填写新密码。")), Length(max=200)])
    confirm = PasswordField(_l("再次输入新密码"), validators=[DataRequired(_l("请再次输入新密码。"))])


class ActivationForm(FlaskForm):
    code = StringField(_l("激活码"), validators=[DataRequired(_l("请填写激活码。")), Length(max=40)])
    new = PasswordField(_l("设置密码"), validators=[DataRequired(_l("请填写新密码。")), Length(max=200)])
    confirm = PasswordField(_l("再次输入密码"), validators=[DataRequired(_l("请再次输入新密码。"))])

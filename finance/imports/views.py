"""The page 批量导入 (`/imports`): the district admin (and a township's agency reviewer, for the history and
member roll of its villages) uploads a file of one EXCHANGE.md format; the import runs as one unit of work
through `finance.web.write` and its result is shown once (with the activation links of imported people,
which are not kept), or every problem of the file with its line and column, nothing imported."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import FileField, SelectField

from finance.errors import InputError
from finance.imports import history, members, org_units, people, register, subjects
from finance.imports.models import ImportBatch
from finance.imports.queries import recent_imports
from finance.imports.reader import DEFAULT_MAX_BYTES, ImportFileError, Problem
from finance.imports.services import Outcome, kinds_for
from finance.web import write

bp = Blueprint("imports", __name__, url_prefix="/imports")

KIND_LABELS = {
    "subjects": _l("会计科目表（§0）"), "org-units": _l("组织单位及村集体账户（§1）"), "people": _l("人员及角色（§2）"),
    "register": _l("村干部及近亲属登记（§3）"), "history": _l("原系统支付历史（§4，.jsonl 或 .zip）"),
    "members": _l("集体经济组织成员名册（§5b）"),
}
Runner = Callable[..., Outcome]
RUNNERS: dict[str, Runner] = {"subjects": subjects.run, "org-units": org_units.run, "people": people.run,
                              "register": register.run, "history": history.run, "members": members.run}
RECENT = 20


class ImportRefused(InputError):
    """A file that imports nothing, with every problem found."""

    def __init__(self, exc: ImportFileError) -> None:
        super().__init__(_("文件有 %(n)d 处问题，没有导入任何内容。", n=len(exc.problems)))
        self.problems: list[Problem] = exc.problems


class ImportForm(FlaskForm):
    kind = SelectField(_l("导入什么"), choices=[], validate_choice=False)  # run_upload says why a kind is refused
    file = FileField(_l("文件（CSV、Excel .xlsx 或 JSON Lines）"))


@bp.before_request
@login_required
def _importers_only() -> None:
    if not kinds_for(current_user):
        abort(404)


def run_upload(kind: str, data: bytes, filename: str, via: str) -> Outcome:
    """One import from an upload (the page, the API): ImportRefused names every problem; nothing changes."""
    if kind not in kinds_for(current_user):
        raise InputError(_("您不能导入这类数据。"), {"kind": _("您不能导入这类数据。")})
    if not data:
        raise InputError(_("请选择要导入的文件。"), {"file": _("请选择要导入的文件。")})
    limit = int(current_app.config.get("IMPORT_MAX_BYTES") or DEFAULT_MAX_BYTES)
    try:
        return RUNNERS[kind](data, filename, by=current_user, via=via, **({"max_bytes": limit}
                                                                        if kind == "history" else {}))
    except ImportFileError as exc:
        raise ImportRefused(exc) from None


def _recent() -> list[ImportBatch]:
    # the district admin (who may import the chart) sees every import; others their own
    return recent_imports(current_user, RECENT, all_of_them="subjects" in kinds_for(current_user))


@bp.route("", methods=["GET", "POST"])
def index() -> ResponseReturnValue:
    form = ImportForm()
    form.kind.choices = [(k, str(KIND_LABELS[k])) for k in kinds_for(current_user)]

    def page(outcome: Outcome | None = None, problems: list[Problem] | None = None, error: str | None = None
             ) -> str:
        return render_template("imports/index.html", form=form, outcome=outcome, problems=problems or [],
                               error=error, recent=_recent(), kind_labels=KIND_LABELS)

    if request.method == "GET":
        return page()
    if not form.validate_on_submit():
        abort(400)
    upload = request.files.get("file")
    data = upload.read() if upload else b""
    filename = (upload.filename if upload else "") or "upload"

    def refused(exc: InputError) -> str:
        return page(problems=getattr(exc, "problems", None), error=str(exc))

    return write(lambda: run_upload(form.kind.data or "", data, filename, "web"), done=lambda o: page(outcome=o),
                 invalid=refused)

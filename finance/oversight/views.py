"""The liaison's pages (廉情监督): read-only and scoped. The only writes are the records of a liaison's
reads (attachment views, exports) and questions (问询) with their answers."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from flask import Blueprint, abort, current_app, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

import audit
from finance import audit_keys, keyset, storage, trail
from finance.errors import InputError
from finance.extensions import db, login_manager
from finance.flags import queries as flag_queries
from finance.oversight import labels, queries, request_trail, services
from finance.oversight.models import Question
from finance.oversight.verification import verify_chains
from finance.params import parse_page
from finance.payment_requests import queries as request_queries
from finance.payment_requests.filters import FilterForm, read_filters
from finance.payment_requests.models import Attachment, PaymentRequest
from finance.permissions import Permission, can
from finance.roles import role_label
from finance.security import send_user_file
from finance.timefmt import today_local
from finance.trail import AuditSubject
from finance.web import see_other, write

bp = Blueprint("oversight", __name__, url_prefix="/oversight")
PUBLIC = {"oversight.public_key", "oversight.public_key_pem"}


@bp.before_request
def _liaisons_only() -> Response | None:
    if request.endpoint in PUBLIC:
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()  # type: ignore[no-any-return]
    if request.endpoint in ("oversight.question", "oversight.answer"):
        return None  # township staff answer questions; those views check the request themselves
    if not can(current_user, Permission.AUDIT_READ):
        abort(404)
    return None


def _request_or_404(request_id: int) -> PaymentRequest:
    req = request_queries.get_visible(current_user, request_id)
    if req is None or not can(current_user, Permission.AUDIT_READ, req):
        abort(404)
    return req


@bp.route("/")
@login_required
def index() -> str:
    villages = queries.liaison_villages(current_user)
    reports = verify_chains([audit.village_chain(v.code) for v in villages])
    rows = [(v, audit.village_chain(v.code), reports[audit.village_chain(v.code)]) for v in villages]
    return render_template(
        "oversight/index.html",
        rows=rows,
        questions=queries.open_questions_for(current_user),
        page_of_seq=queries.page_of_seq,
        open_flag_count=flag_queries.open_count(current_user),
    )


@bp.route("/requests")
@login_required
def requests() -> str:
    villages = queries.liaison_villages(current_user)
    form = FilterForm(formdata=request.args)
    filters = read_filters(form, villages)
    size = int(current_app.config.get("PAGE_SIZE", 20))
    found = request_queries.search(current_user, **filters.search_args(),
                                   after=keyset.decode(request.args.get("after")), limit=size + 1)
    more = len(found) > size
    found = found[:size]
    next_cursor = keyset.encode(found[-1].created_at, found[-1].id) if more and found else None
    return render_template("oversight/requests.html", found=found, form=form, args=filters.given,
                           next_cursor=next_cursor)


@bp.route("/requests/export", methods=["POST"])
@login_required
def export_requests() -> Response:
    """The filtered request list as a CSV file (UTF-8 with BOM, for Excel); the export is recorded
    (services.export_requests)."""
    filters = read_filters(FilterForm(formdata=request.form), queries.liaison_villages(current_user))
    if filters.errors:
        abort(400, next(iter(filters.errors.values())))
    text = services.export_requests(current_user, filters)
    db.session.commit()
    return csv_response(text)


def csv_response(text: str) -> Response:
    """The export's CSV answer (the page's and the API's)."""
    response = current_app.response_class(text, mimetype="text/csv")
    name = f"sanzi-requests-{today_local().isoformat()}.csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/requests/<int:request_id>")
@login_required
def request_detail(request_id: int) -> str:
    return _render_request(_request_or_404(request_id))


@bp.route("/attachments/<int:attachment_id>")
@login_required
def attachment(attachment_id: int) -> Response:
    att = db.session.get(Attachment, attachment_id)
    if att is None:
        abort(404)
    _request_or_404(att.request_id)
    try:
        path = storage.path_for(att.sha256)
    except storage.StorageError:
        abort(404)
    if not path.exists():
        abort(404)
    services.viewed_attachment(current_user, att)
    db.session.commit()
    # Each view is recorded: never a stored copy (send_user_file says no-store).
    return send_user_file(path.read_bytes(), content_type=att.content_type, filename=att.filename or "file",
                          fallback_stem=f"sanzi-attachment-{att.id}")


@bp.route("/chains/<chain_id>")
@login_required
def events(chain_id: str) -> str:
    village = queries.village_of_chain(current_user, chain_id)
    if village is None:
        abort(404)
    page = parse_page(request.args.get("page"))
    rows, pages = queries.events_page(chain_id, page)
    report = verify_chains([chain_id])[chain_id]
    bad = {f.seq for f in report.failures}
    return render_template(
        "oversight/events.html",
        village=village,
        chain_id=chain_id,
        rows=rows,
        page=min(max(page, 1), pages),
        pages=pages,
        report=report,
        bad=bad,
        checkpoints=queries.checkpoints_of(chain_id)[:5],
        page_of_seq=queries.page_of_seq,
    )


@bp.route("/system")
@login_required
def system() -> str:
    """The history of approval policies and role assignments of the liaison's townships, from the system
    chain (issue 15 item 5), with the system chain's verification status."""
    entries = queries.system_history(current_user)
    report = verify_chains([audit.SYSTEM_CHAIN])[audit.SYSTEM_CHAIN]
    return render_template("oversight/system.html", entries=entries, report=report,
                           limit=queries.SYSTEM_HISTORY_LIMIT)


@bp.route("/chains/<chain_id>/checkpoints", methods=["POST"])
@login_required
def download_checkpoints(chain_id: str) -> Response:
    """The chain's signed checkpoints as a JSON file to keep off the server. The export is itself an
    event, and a fresh checkpoint covering it is signed first, so the file vouches for today's head."""
    village = queries.village_of_chain(current_user, chain_id)
    if village is None:
        abort(404)
    services.exported(current_user, village, "checkpoints", AuditSubject.CHAIN, chain_id)
    audit_keys.checkpoint(chain_id)
    rows = queries.checkpoints_of(chain_id)
    db.session.commit()
    body = json.dumps(
        [audit.SignedCheckpoint.from_row(r).to_json() for r in rows], indent=2, ensure_ascii=False
    )
    name = f"{chain_id.replace(':', '_')}-{rows[0].size if rows else 0}-checkpoints.json"
    response = Response(body, mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _render_request(req: PaymentRequest, errors: dict[str, str] | None = None, form: Any = None) -> str:
    timeline = queries.timeline(req)
    chain = audit.village_chain(req.village.code)
    return render_template(
        "oversight/request.html",
        req=req,
        timeline=timeline,
        trail_lines=request_trail.lines_of(req, timeline),
        verification=request_trail.verification_of(req, timeline, chain),
        questions=queries.questions_on(req),
        today=today_local(),
        chain=chain,
        page_of_seq=queries.page_of_seq,
        attachments_by_sha={a.sha256: a for a in req.attachments},
        errors=errors or {},
        form=form or {},
    )


@bp.route("/requests/<int:request_id>/questions", methods=["POST"])
@login_required
def ask(request_id: int) -> ResponseReturnValue:
    req = _request_or_404(request_id)
    try:
        deadline: date | None = date.fromisoformat(request.form.get("deadline", ""))
    except ValueError:
        deadline = None

    def invalid(exc: InputError) -> str:
        return _render_request(req, exc.errors, request.form)

    return write(
        lambda: services.ask_question(current_user, req, request.form.get("text", ""), deadline),
        done=lambda _q: see_other(url_for("oversight.request_detail", request_id=req.id) + "#questions",
                                  _("问询已提出，已进入乡镇待办。")),
        invalid=invalid,
    )


def _question_or_404(question_id: int) -> Question:
    question = db.session.get(Question, question_id)
    if question is None:
        abort(404)
    req = request_queries.get_visible(current_user, question.request_id)
    if req is None or not (
        can(current_user, Permission.AUDIT_READ, req) or can(current_user, Permission.QUESTION_ANSWER, req)
    ):
        abort(404)
    return question


@bp.route("/questions/<int:question_id>")
@login_required
def question(question_id: int) -> str:
    q = _question_or_404(question_id)
    return render_template("oversight/question.html", q=q, errors={}, form={})


@bp.route("/questions/<int:question_id>/answer", methods=["POST"])
@login_required
def answer(question_id: int) -> ResponseReturnValue:
    q = _question_or_404(question_id)
    return write(
        lambda: services.answer_question(current_user, q, request.form.get("answer", "")),
        done=lambda _none: see_other(url_for("oversight.question", question_id=q.id), _("答复已提交。")),
        invalid=lambda exc: render_template("oversight/question.html", q=q, errors=exc.errors, form=request.form),
    )


@bp.route("/public-key")
def public_key() -> str:
    kid, pem = audit_keys.public_pem()
    return render_template("oversight/public_key.html", key_id=kid, pem=pem)


@bp.route("/public-key.pem")
def public_key_pem() -> Response:
    _kid, pem = audit_keys.public_pem()
    response = Response(pem, mimetype="application/x-pem-file")
    response.headers["Content-Disposition"] = 'attachment; filename="sanzi-audit-public-key.pem"'
    return response


@bp.context_processor
def _labels() -> dict[str, object]:
    return {
        "action_label": trail.action_label,
        "field_label": labels.field_label,
        "role_label": role_label,
        "subject_label": trail.subject_label,
        "payload_rows": labels.payload_rows,
        "show_value": labels.show_value,
        "failure_text": labels.failure_text,
    }

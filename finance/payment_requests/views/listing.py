"""The list of requests in the user's scope, newest first, with the shared filters and keyset pages."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, render_template, request, url_for
from flask_login import current_user

from finance import keyset
from finance.payment_requests.filters import FilterForm, read_filters
from finance.payment_requests.queries import count_visible, search
from finance.payment_requests.views.blueprint import bp
from finance.permissions import Permission, can, villages_in_scope


@bp.route("")
def list_requests() -> Any:
    if not can(current_user, Permission.REQUEST_READ):
        abort(404)  # the district admin reads no requests: say so rather than show "no requests yet"
    villages = villages_in_scope(current_user)
    form = FilterForm(formdata=request.args)
    filters = read_filters(form, villages)
    size = int(current_app.config.get("PAGE_SIZE", 20))
    after = keyset.decode(request.args.get("after"))
    rows = search(current_user, **filters.search_args(), after=after, limit=size + 1)
    more_url = None
    if len(rows) > size:
        rows = rows[:size]
        args: dict[str, Any] = {**filters.given, "after": keyset.encode(rows[-1].created_at, rows[-1].id)}
        more_url = url_for(".list_requests", **args)
    filtered = any(v for k, v in request.args.items() if k != "after")
    return render_template(
        "payment_requests/list.html",
        form=form,
        rows=rows,
        more_url=more_url,
        filtered=filtered,
        paged=after is not None,
        total=count_visible(current_user) if after is None and not filtered else None,
        show_village=len(villages) > 1,
    )

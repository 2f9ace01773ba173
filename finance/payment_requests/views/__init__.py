"""Pages of payment requests, one module per page, on one blueprint: `form` (new, edit), `detail` (the
request and the workflow actions taken from it), `attachments` (upload, delete, the files), `listing`.
Views are thin: they parse the form, name their pages and hand the write to `finance.web.write`.
Out-of-scope ids are 404, like missing ones."""

from finance.payment_requests.views import attachments, detail, form, history, listing
from finance.payment_requests.views.blueprint import bp

__all__ = ["attachments", "bp", "detail", "form", "history", "listing"]

"""Approval policies (审批流程): per township, versioned, immutable once published. `rules` is the pure
data (steps, required attachments, the 四议两公开 threshold), `models` the stored versions, `queries` which
version applies, `services` the one writer (publishing a version, from the admin page's rows)."""

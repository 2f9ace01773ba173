"""Delegation (代理审批): A names B to act for A between two dates, for one role and some villages.

    models.py    the delegation and its villages
    services.py  create and end (each one audit event on the system chain)
    queries.py   a person's delegations (given and received), the admin's list
    views.py     /delegations (mine, a form to name someone) and /delegations/admin

Who may act is still answered in one place: `finance.permissions` reads the active delegations (its
`grants_of`) in `acting_for` / `can()` and in the to-do query, and applies the workflow table's bars to
both the delegate and the person they act for.
"""

"""Notices: who is told what, when, and through which channel.

    outbox.py     the notice and its deliveries, written in the transaction of the event that causes them
    dispatch.py   the one hook (trail.on_record, called by finance.trail.record): audit action -> notice, recipients
    recipients.py who holds a role over a village; who may act on a request now
    channels.py   e-mail (SMTP), SMS (HTTP provider), WeCom and DingTalk group robots, a file for local use
    worker.py     `flask --app finance worker`: claims due deliveries, sends, retries with backoff
    reminders.py  `flask --app finance notices remind`: reminders and escalation after N / M working days
    workdays.py   the working-day clock (weekends, public holidays and make-up days)
    queries.py    overdue counts, slowest steps of the month, failures for the admin
    views.py      the notice settings page and the admin's failure list and township policies
"""

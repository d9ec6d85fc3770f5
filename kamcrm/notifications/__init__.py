"""In-app notifications (issue 6 item 5, K7/K8): a bell with the unread count in the navigation bar, the
list at /notifications/, and four kinds of event that produce them (events.py):

- targets approved: a target plan approved at a level tells every person with a target below that level;
- targets sent back: a level sent back tells whoever submitted it and the unit's head, with the comment;
- action overdue: an open POA action past its due date tells its owner, once per action and due date;
- completion behind: from the 15th of a month, a person whose month-to-date actual of a metric is below
  KAMCRM_COMPLETION_ALERT_PERCENT (default 40) of the month's target is told, with their manager, once
  per person, metric and month.

The first two happen inside the target services' transactions. The last two are a daily scan,
`kamcrm notify_scan [--today YYYY-MM-DD]`, which cron (or a systemd timer) runs once a day like the other
daily jobs: django-tasks has no periodic scheduler here, so there is no task to schedule. The scan is
idempotent: every notification carries a dedupe key unique per (recipient, kind, key), so running it
twice, or on every hour, notifies once per period.
"""

"""`kamcrm notify_scan [--today YYYY-MM-DD]`: the daily notification scan (from cron or a timer):
overdue POA actions to their owners, and from the 15th, month-to-date completion below the alert
threshold to the person and their manager. Running it twice notifies nobody twice. Each batch of
notifications commits on its own (no long write lock while the actuals are read); a run stopped halfway is
completed by the next one, which skips what was already written."""
import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from kamcrm.core.context import Channel, change_context
from kamcrm.notifications.events import daily_scan


class Command(BaseCommand):
    help = "Notify overdue POA actions and completion behind target; each at most once per action or month."

    def add_arguments(self, parser):
        parser.add_argument("--today", help="Scan as of this day (default: today).")

    def handle(self, *args, today=None, **options):
        try:
            day = dt.date.fromisoformat(today) if today else timezone.localdate()
        except ValueError:
            raise CommandError("--today must be YYYY-MM-DD") from None
        with change_context(channel=Channel.JOB, job_id="notify-scan"):
            counts = daily_scan(today=day)
        if options["verbosity"] >= 1:
            self.stdout.write(f"{day.isoformat()}: new notifications: action overdue {counts['action_overdue']}, "
                              f"completion behind {counts['completion_below']}")

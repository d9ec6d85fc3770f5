"""`kamcrm receivables_daily [--date YYYY-MM-DD]`: the daily receivables job (from a timer): alert the
owner of each newly overdue invoice (task and `invoice.overdue` event), escalate to their manager
those 30 days past due, and mark the collection promises whose day has passed as kept or broken.
Running it twice a day changes nothing the second time."""
import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from kamcrm.core.context import Channel, change_context
from kamcrm.receivables.services import ESCALATE_AFTER_DAYS, overdue_check, promises_review


class Command(BaseCommand):
    help = "Overdue invoices (tasks, escalation, webhook events) and collection promises, once a day."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="Run as of this day (default: today).")
        parser.add_argument("--escalate-after", type=int, default=ESCALATE_AFTER_DAYS,
                            help=f"Days past due before escalating to the owner's manager (default {ESCALATE_AFTER_DAYS}).")

    def handle(self, *args, date=None, escalate_after=ESCALATE_AFTER_DAYS, **options):
        try:
            today = dt.date.fromisoformat(date) if date else None
        except ValueError:
            raise CommandError("--date must be YYYY-MM-DD") from None
        if escalate_after < 1:
            raise CommandError("--escalate-after must be at least 1")
        with change_context(channel=Channel.JOB, job_id="receivables-daily"):
            overdue = overdue_check(today=today, escalate_after=escalate_after)
            promises = promises_review(today=today)
        if options["verbosity"] >= 1:
            self.stdout.write(f"overdue invoices alerted: {overdue['alerted']}, escalated: {overdue['escalated']}, "
                              f"promises reviewed: {promises}")

"""`kamcrm funnel_health [--date YYYY-MM-DD]`: run the funnel health rules (daily, from a timer)."""
import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from kamcrm.core.context import Channel, change_context
from kamcrm.sales.health import funnel_health_check


class Command(BaseCommand):
    help = "Run the active funnel health rules; each fires at most once per period."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="Check as of this day (default: today).")

    def handle(self, *args, date=None, **options):
        try:
            today = dt.date.fromisoformat(date) if date else None
        except ValueError:
            raise CommandError("--date must be YYYY-MM-DD") from None
        with change_context(channel=Channel.JOB, job_id="funnel-health"):
            alerts = funnel_health_check(today=today)
        for alert in alerts:
            self.stdout.write(f"{alert.rule} {alert.period_key}: {alert.metric} = {alert.value} "
                              f"(threshold {alert.threshold}), task for {alert.task.assignee}")
        if not alerts and options["verbosity"] >= 1:
            self.stdout.write("no new alert")

"""`kamcrm agreements_daily`: the agreements' daily job (statuses that follow the dates, renewal
reminders). Safe to run more than once a day: a second run changes nothing."""
import datetime as dt

from django.core.management.base import BaseCommand

from kamcrm.agreements.services import agreements_roll
from kamcrm.core.context import Channel, change_context


class Command(BaseCommand):
    help = "Activate agreements that started, expire those that ended, remind owners of renewals."

    def add_arguments(self, parser):
        parser.add_argument("--today", type=dt.date.fromisoformat, default=None, help="YYYY-MM-DD (default: today)")

    def handle(self, *args, today=None, **options):
        with change_context(channel=Channel.JOB, job_id="agreements-daily"):
            done = agreements_roll(today=today)
        self.stdout.write(", ".join(f"{k}: {v}" for k, v in done.items()))

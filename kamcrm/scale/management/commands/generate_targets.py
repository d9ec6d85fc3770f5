"""`kamcrm generate_targets [--today YYYY-MM-DD]`: this year's target plan for the scale data set (issue 6's
completion benchmark, issue 7's "targets for every unit and person").

The same builder as the demo (kamcrm.targets.demo.build_targets), through the services: the company's
figures from this year's actuals × 1.1, split level by level onto every unit and every sales person in
proportion to head count, each department's level submitted and approved, then the company's. Every
invariant holds as in use (children + unallocated = parent). A year that has a plan is left as it is.
"""
import datetime as dt

from django.core.management.base import BaseCommand

from kamcrm.targets.demo import build_targets


class Command(BaseCommand):
    help = "Build this year's decomposed, approved target plan over the organisation in the database."

    def add_arguments(self, parser):
        parser.add_argument("--today", type=dt.date.fromisoformat, default=None)

    def handle(self, *args, today, **options):
        report = build_targets(today=today)
        self.stdout.write(report.line())

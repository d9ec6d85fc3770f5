"""`kamcrm demo`: build the demo data (a provincial telecom branch) and print the demo logins.

    kamcrm demo                  build what is missing (a second run creates nothing)
    kamcrm demo --if-empty       build only when there are no accounts yet (what `make run` calls)
    kamcrm demo --accounts 500   fewer (or more) accounts; --seed N for another, equally fixed, data set
"""
import time
import unicodedata

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation
from django.utils.translation import gettext as _

from kamcrm.activities.demo import build_activities
from kamcrm.agreements.demo import build_agreements
from kamcrm.core.context import Channel, change_context
from kamcrm.customers.demo import build_customers
from kamcrm.customers.models import Account
from kamcrm.org.demo import DEFAULT_SEED, build_org, demo_logins
from kamcrm.poa.demo import build_poa
from kamcrm.products.demo import build_products
from kamcrm.sales.demo import build_sales
from kamcrm.targets.demo import build_targets

URL = "http://127.0.0.1:8000"


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


class Command(BaseCommand):
    help = "Build the demo data: a provincial telecom branch with its people, accounts, contacts, teams and timeline."

    def add_arguments(self, parser):
        parser.add_argument("--accounts", type=int, default=2000, help="How many accounts (default 2000).")
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                            help=f"Seed of the generators (default {DEFAULT_SEED}); the same seed gives the same data.")
        parser.add_argument("--if-empty", action="store_true", help="Build only when there are no accounts yet.")

    def handle(self, *args, accounts: int, seed: int, if_empty: bool, **options):
        if accounts < 0:
            raise CommandError(_("--accounts must be 0 or more."))
        if if_empty and Account.objects.exists():
            self.stdout.write(_("Accounts exist already: the demo data was not built (drop --if-empty to add it)."))
        else:
            started = time.perf_counter()
            self.stdout.write(_("Building the demo data (seed %(seed)d, %(n)d accounts) ...") % {"seed": seed, "n": accounts})
            # Stored texts (timeline summaries) are written in the product's default language.
            with change_context(channel=Channel.JOB, job_id="demo"), translation.override(settings.LANGUAGE_CODE):
                build_org(seed=seed, progress=self.stdout.write)
                try:
                    build_customers(accounts=accounts, seed=seed, progress=self.stdout.write)
                except ValueError as exc:  # more accounts than the name generator can make distinct
                    raise CommandError(str(exc)) from exc
                build_products(seed=seed, progress=self.stdout.write)
                build_sales(seed=seed, progress=self.stdout.write)
                build_activities(seed=seed, progress=self.stdout.write)
                build_agreements(seed=seed, progress=self.stdout.write)
                build_targets(seed=seed, progress=self.stdout.write)
                build_poa(seed=seed, progress=self.stdout.write)
            # The import mappings shipped with kamcrm (their constants name the demo's root unit and admin).
            call_command("import_mapping", "builtin", verbosity=0)
            self.stdout.write(_("Demo data ready in %(s).1f s.") % {"s": time.perf_counter() - started})
        self._print_logins()

    def _print_logins(self) -> None:
        header = (_("username"), _("role"), _("unit"), _("password"))
        rows = [header, *((r.username, r.role, r.unit, r.password) for r in demo_logins())]
        widths = [max(_width(row[i]) for row in rows) for i in range(len(header))]
        self.stdout.write("")
        self.stdout.write(_("Demo logins:"))
        for i, row in enumerate(rows):
            self.stdout.write("  " + "  ".join(_pad(cell, w) for cell, w in zip(row, widths, strict=True)).rstrip())
            if i == 0:
                self.stdout.write("  " + "  ".join("-" * w for w in widths))
        self.stdout.write("")
        self.stdout.write(_("Open %(url)s") % {"url": URL})

"""`kamcrm funnel_rollup_rebuild`: rebuild the funnel's roll-up from the opportunities and their history.

The services keep it current; this is for repair, and after a bulk load that bypassed them."""
import time

from django.core.management.base import BaseCommand

from kamcrm.sales import rollup


class Command(BaseCommand):
    help = "Rebuild the funnel roll-up (sales_funnelrollup) from every opportunity and its stage history."

    def handle(self, *args, **options):
        started = time.perf_counter()
        rows = rollup.rebuild()
        self.stdout.write(f"{rows} roll-up rows in {time.perf_counter() - started:.1f} s")

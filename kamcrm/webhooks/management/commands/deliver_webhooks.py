"""`kamcrm deliver_webhooks [--once] [--interval 5]`: the webhook delivery worker."""
import time

from django.core.management.base import BaseCommand

from kamcrm.webhooks.delivery import deliver_due


class Command(BaseCommand):
    help = "Send due webhook deliveries; loops until stopped unless --once is given."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Send what is due now, then exit.")
        parser.add_argument("--interval", type=float, default=5.0, help="Seconds to sleep when nothing is due.")
        parser.add_argument("--limit", type=int, default=100, help="Deliveries per round.")

    def handle(self, *args, once=False, interval=5.0, limit=100, **options):
        while True:
            sent = deliver_due(limit=limit)
            if sent and options["verbosity"] >= 1:
                self.stdout.write(f"attempted {sent} deliveries")
            if once:
                return
            if sent < limit:
                time.sleep(interval)

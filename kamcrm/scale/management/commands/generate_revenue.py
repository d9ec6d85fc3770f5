"""`kamcrm generate_revenue --scale S [--seed N]`: add the scale data set's agreements, their revenue
schedules and the revenue facts to a database built by `kamcrm generate` (issue 5's benchmark).

    kamcrm generate_revenue --scale 1        1M agreements, ~40M monthly slices (PostgreSQL recommended)
    kamcrm generate_revenue --scale 0.1      100k agreements (SQLite)
"""
import datetime as dt
import json
import time

from django.core.management.base import BaseCommand, CommandError

from kamcrm.agreements.models import Agreement
from kamcrm.scale.revenue import agreements_for, generate_revenue


class Command(BaseCommand):
    help = "Add agreements with their monthly revenue slices, and the revenue facts, to the scale data set."

    def add_arguments(self, parser):
        parser.add_argument("--scale", type=float, required=True)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--today", type=dt.date.fromisoformat, default=None)
        parser.add_argument("--chunk", type=int, default=50_000)
        parser.add_argument("--no-facts", action="store_true", help="Skip the revenue facts rebuild.")
        parser.add_argument("--no-fk-checks", action="store_true",
                            help="Load with foreign-key checks off (as `kamcrm generate --no-fk-checks`).")
        parser.add_argument("--json", dest="json_path", default="")

    def handle(self, *args, scale, seed, today, chunk, no_facts, json_path, no_fk_checks=False, **options):
        if Agreement.objects.filter(source_system="scale").exists():
            raise CommandError("This database already holds the scale agreements.")
        out = self.stdout
        last: dict[str, float] = {}

        def progress(label: str, done: int, planned: int, rate: float) -> None:
            if time.monotonic() - last.get(label, 0) > 10 or done >= planned:
                last[label] = time.monotonic()
                out.write(f"  {label:<18} {done:>12,} / {planned:,} rows  {rate:>10,.0f} rows/s")

        out.write(f"Generating {agreements_for(scale):,} agreements (S={scale:g}, seed {seed}) ...")
        try:
            result = generate_revenue(scale=scale, seed=seed, today=today, chunk=chunk, progress=progress,
                                      facts=not no_facts, fk_checks=not no_fk_checks)
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc
        for table in result["tables"]:
            out.write(f"  {table['label']:<18} {table['rows']:>12,} rows  {table.get('rows_per_second', 0):>10,} rows/s")
        out.write(f"Loaded in {result['load_seconds']:,.1f} s (indexes {result['index_seconds']:,.1f} s), "
                  f"facts {result.get('facts', 0):,} rows in {result['facts_seconds']:,.1f} s")
        if json_path:
            with open(json_path, "w", encoding="utf-8") as fh:
                json.dump(result, fh, indent=2)

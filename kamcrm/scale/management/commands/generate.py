"""`kamcrm generate --scale S [--seed N]`: build the scale data set (issue 7) at bulk speed.

    kamcrm generate --scale 0.01              10k accounts, 50k contacts, 100k timeline events, ...
    kamcrm generate --scale 1 --seed 7        the million-account set (PostgreSQL recommended)
    kamcrm generate --scale 0.1 --json out.json --baseline 2000
    kamcrm generate --scale 0.1 --flat        100k accounts, one contact and three opportunities each

Refuses a database that already has accounts unless --force. Prints one progress line per table
(a live bar on a terminal) with rows/s, then a summary and, unless --baseline 0, the ORM baseline:
the same kind of account rows created one Account.objects.create() at a time.
"""
import datetime as dt
import json
import platform
import sys
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils.translation import gettext as _

from kamcrm.core.context import Channel, change_context
from kamcrm.scale.generator import AlreadyLoaded, check_empty, generate, orm_baseline, sizes_for


class Command(BaseCommand):
    help = "Build the scale data set (S=1: 1M accounts, 5M contacts, 10M timeline events, 1M opportunities)."

    def add_arguments(self, parser):
        parser.add_argument("--scale", type=float, required=True, help="1 = the million-account data set.")
        parser.add_argument("--flat", action="store_true",
                            help="The peer-comparison shape: every account with one contact and three "
                                 "opportunities, no skews, no logged activities (--scale 0.1 --flat: 100k accounts).")
        parser.add_argument("--seed", type=int, default=1, help="Same seed (and --today) → same data (default 1).")
        parser.add_argument("--today", type=dt.date.fromisoformat, default=None,
                            help="The date the data is relative to (YYYY-MM-DD; default: today).")
        parser.add_argument("--force", action="store_true", help="Add to a database that already has accounts.")
        parser.add_argument("--chunk", type=int, default=50_000, help="Rows per transaction (default 50,000).")
        parser.add_argument("--baseline", type=int, default=2000,
                            help="Accounts to create through the ORM for the baseline (0: skip; default 2000).")
        parser.add_argument("--no-fk-checks", action="store_true",
                            help="Load with foreign-key checks off (PostgreSQL: needs a superuser; SQLite: "
                                 "PRAGMA foreign_keys=OFF); the rows are consistent by construction.")
        parser.add_argument("--keep-indexes", action="store_true",
                            help="Keep the big tables' secondary indexes during the load (default: drop them "
                                 "and build them once at the end).")
        parser.add_argument("--no-analyze", action="store_true", help="Skip ANALYZE after the load.")
        parser.add_argument("--json", dest="json_path", default="", help="Also write the figures to this file.")

    def handle(self, *args, scale, seed, flat=False, today, force, chunk, baseline, no_analyze, no_fk_checks=False, keep_indexes=False, json_path="", **options):
        try:
            sizes = sizes_for(scale, flat=flat)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        try:
            check_empty(force=force)  # before the header, so a refusal is the only line
        except AlreadyLoaded as exc:
            raise CommandError(str(exc)) from exc
        out = self.stdout
        tty = hasattr(out, "isatty") and out.isatty()
        out.write(_("Generating the scale data set S=%(s)g (seed %(seed)d) on %(db)s: %(a)s accounts, %(c)s contacts, "
                    "%(t)s timeline events, %(o)s opportunities, %(u)s people") % {
            "s": scale, "seed": seed, "db": connection.vendor, "a": f"{sizes.accounts:,}", "c": f"{sizes.contacts:,}",
            "t": f"{sizes.timeline:,}" if not sizes.flat else "—", "o": f"{sizes.opportunities:,}", "u": f"{sizes.users:,}"})
        last: dict[str, float] = {}

        def progress(label: str, done: int, planned: int, rate: float) -> None:
            share = min(1.0, done / planned) if planned else 1.0
            bar = "#" * int(share * 30)
            line = f"  {label:<18} [{bar:<30}] {done:>12,} / {planned:,} rows  {rate:>10,.0f} rows/s"
            if tty:
                out.write("\r" + line, ending="")
                out.flush()
            elif time.monotonic() - last.get(label, 0) > 5 or done >= planned:
                last[label] = time.monotonic()
                out.write(line)

        def step_done(name: str, seconds: float) -> None:
            if tty:
                out.write("")
            out.write(f"  -- {name} done in {seconds:,.1f} s")

        try:
            with change_context(channel=Channel.JOB, job_id="scale-generate"):
                result = generate(scale=scale, flat=flat, seed=seed, today=today, force=force, progress=progress, chunk=chunk,
                                  analyze=not no_analyze, step_done=step_done,
                                  fk_checks=not no_fk_checks, defer_indexes=not keep_indexes)
                if baseline:
                    result.baseline = orm_baseline(rows=baseline, seed=seed)
        except AlreadyLoaded as exc:
            raise CommandError(str(exc)) from exc

        out.write("")
        out.write(f"{'table':<20} {'rows':>12} {'seconds':>9} {'rows/s':>11}  (generate / write s)")
        for t in result.tables:
            out.write(f"{t.label:<20} {t.rows:>12,} {t.seconds:>9.1f} {t.rows_per_second:>11,.0f}  "
                      f"({t.gen_seconds:.1f} / {t.write_seconds:.1f})")
        if result.index_seconds:
            out.write(f"{'index rebuild':<20} {'':>12} {result.index_seconds:>9.1f}")
        out.write(f"{'ANALYZE':<20} {'':>12} {result.analyze_seconds:>9.1f}")
        out.write(f"{'total':<20} {result.rows:>12,} {result.seconds:>9.1f} {result.rows / result.seconds:>11,.0f}")
        data = result.as_dict()
        if result.baseline:
            accounts = next(t for t in result.tables if t.label == "accounts")
            orm = max(1, result.baseline["rows_per_second"])
            ratio = accounts.rows_per_second / orm
            overall = result.rows / result.seconds / orm
            result.baseline["ratio_accounts_bulk_to_orm"] = round(ratio, 1)
            result.baseline["ratio_whole_run_to_orm"] = round(overall, 1)
            out.write(_("ORM baseline: %(n)s accounts one Account.objects.create() at a time: %(r)s rows/s; "
                        "bulk accounts %(b)s rows/s = %(x).1f× faster") % {
                "n": f"{result.baseline['rows']:,}", "r": f"{result.baseline['rows_per_second']:,}",
                "b": f"{accounts.rows_per_second:,.0f}", "x": ratio})
            out.write(_("Whole run incl. index rebuild and ANALYZE: %(r)s rows/s = %(x).1f× the ORM rate") % {
                "r": f"{result.rows / result.seconds:,.0f}", "x": overall})
        out.write(_("Skewed account id %(a)d (external id skew-account); skewed owner %(o)s") % {
            "a": result.skew_account_id, "o": result.skew_owner_username})
        if json_path:
            data["python"] = sys.version.split()[0]
            data["machine"] = platform.platform()
            data["date"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            with open(json_path, "w", encoding="utf-8") as fh:
                fh.write(json.dumps(data, indent=2, ensure_ascii=False))
            out.write(_("Figures written to %(f)s") % {"f": json_path})

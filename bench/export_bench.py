"""Export rate against PostgreSQL COPY (issue 7, "import and export rates against COPY").

    DATABASE_URL=postgres://…/kamcrm_scale .venv/bin/python bench/export_bench.py --reps 3
    DATABASE_URL=sqlite:///…/scale.sqlite3 .venv/bin/python bench/export_bench.py --user scale_rep0002

On a database built by `kamcrm generate`. The accounts one user may see (default: the account manager
who owns the skewed share, 100,000 accounts at S=1), exported three ways in the same run:

- the product: `export_prepare` + the CSV stream the export view returns (visibility, labels of the
  choices in the active language, related records by name, custom attributes, formula-safe cells);
- hand-written SQL of the same rows and columns (joins for the related names) written with `csv.writer`;
- PostgreSQL only: `COPY (that SELECT) TO STDOUT WITH (FORMAT csv)` — the fastest the database gives.

Each is run `--reps` times; rows/s of the best and the median run. The script asserts that all three
give the same number of rows. Writes `bench/results/export-<db>-<date>.json` and a markdown table.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kamcrm.settings")
os.environ["KAMCRM_DEBUG"] = "0"  # DEBUG would keep every query in memory

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.http import QueryDict  # noqa: E402
from django.utils import translation  # noqa: E402

from kamcrm.customers.models import Account  # noqa: E402
from kamcrm.exchange.export import ExportRun, csv_stream, export_entity_get, export_prepare  # noqa: E402
from kamcrm.org.models import User  # noqa: E402
from kamcrm.org.selectors import visible  # noqa: E402

# The export's columns as one SELECT (names of the related records by join; the owner as its parts).
HAND_SQL = """
SELECT a.id, a.name, a.short_name, a.credit_code, a.tier, a.industry, a.status, r.name, r.code, p.name,
       u.display_name, u.first_name, u.last_name, u.username, ou.name, a.tags, a.address, a.website, a.phone,
       a.description, a.source_system, a.external_id, a.created_at, a.updated_at, a.attributes
FROM customers_account a
JOIN org_orgunit r ON r.id = a.region_id
LEFT JOIN customers_account p ON p.id = a.parent_id
JOIN org_user u ON u.id = a.owner_id
JOIN org_orgunit ou ON ou.id = a.owner_unit_id
WHERE a.owner_id = {owner}
ORDER BY a.name, a.id
"""


class Sink:
    """A file-like object that only counts what is written to it."""

    def __init__(self) -> None:
        self.size = 0

    def write(self, data) -> int:  # noqa: ANN001
        self.size += len(data)
        return len(data)


def product(user: User) -> tuple[int, int]:
    prepared = export_prepare(entity=export_entity_get("accounts"), user=user, query=QueryDict(""))
    run = ExportRun(prepared)
    size = 0
    stream = csv_stream(run)
    for chunk in stream:
        size += len(chunk)
    stream.close()
    return run.rows, size


def hand_csv(owner_id: int) -> tuple[int, int]:
    sink = Sink()
    writer = csv.writer(sink)
    rows = 0
    with connection.cursor() as cursor:
        cursor.execute(HAND_SQL.format(owner=int(owner_id)))
        while batch := cursor.fetchmany(2000):
            writer.writerows(batch)
            rows += len(batch)
    return rows, sink.size


def copy_csv(owner_id: int) -> tuple[int, int]:
    size = rows = 0
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY ({HAND_SQL.format(owner=int(owner_id))}) TO STDOUT WITH (FORMAT csv)") as copy:
            for block in copy:
                size += len(block)
                rows += bytes(block).count(b"\n")  # no newline inside these cells: names, codes, addresses
    return rows, size


def timed(fn, reps: int) -> dict:  # noqa: ANN001
    runs = []
    for _ in range(reps):
        t0 = time.perf_counter()
        rows, size = fn()
        runs.append(time.perf_counter() - t0)
    best, median = min(runs), statistics.median(runs)
    return {"rows": rows, "bytes": size, "best_s": round(best, 3), "median_s": round(median, 3),
            "rows_per_s_best": round(rows / best), "rows_per_s_median": round(rows / median)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--user", default="", help="username (default: the owner of the skewed share)")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    if args.user:
        user = User.objects.get(username=args.user)
    else:
        top = Account.objects.values("owner").order_by().annotate(n=django.db.models.Count("id")).order_by("-n").first()
        if top is None:
            raise SystemExit("No accounts here: run `kamcrm generate --scale S` first.")
        user = User.objects.get(pk=top["owner"])
    visible_rows = visible(Account.objects.all(), user).count()
    owned = Account.objects.filter(owner=user).count()
    if visible_rows != owned:
        raise SystemExit(f"{user.username} sees {visible_rows} accounts but owns {owned}: pick an account manager "
                         "without team grants, so that the hand SQL's predicate (owner) is the same.")
    translation.activate("zh-hans")
    results = {"product export (CSV stream)": timed(lambda: product(user), args.reps),
               "hand SQL + csv.writer": timed(lambda: hand_csv(user.pk), args.reps)}
    if connection.vendor == "postgresql":
        results["PostgreSQL COPY … TO STDOUT (csv)"] = timed(lambda: copy_csv(user.pk), args.reps)
    counts = {label: r["rows"] for label, r in results.items()}
    if len(set(counts.values())) != 1:
        raise SystemExit(f"row counts differ: {counts}")
    base = results.get("PostgreSQL COPY … TO STDOUT (csv)") or results["hand SQL + csv.writer"]
    mine = results["product export (CSV stream)"]
    out = {"database": connection.vendor, "date": dt.date.today().isoformat(), "user": user.username,
           "rows": owned, "reps": args.reps, "machine": platform.platform(), "cpus": os.cpu_count(),
           "load_average": os.getloadavg(), "results": results,
           "product_to_baseline": round(mine["rows_per_s_median"] / base["rows_per_s_median"], 4)}
    print(f"Export of {owned:,} accounts ({user.username}) on {connection.vendor}, {args.reps} runs each\n")
    print("| way | rows | MB | best s | median s | rows/s (median) |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, r in results.items():
        print(f"| {label} | {r['rows']:,} | {r['bytes'] / 1e6:.1f} | {r['best_s']} | {r['median_s']} | "
              f"{r['rows_per_s_median']:,} |")
    print(f"\nproduct ÷ {'COPY' if connection.vendor == 'postgresql' else 'hand SQL'}: {out['product_to_baseline']}")
    path = Path(args.out or ROOT / "bench" / "results" / f"export-{connection.vendor}-{out['date']}.json")
    path.write_text(json.dumps(out, indent=1, ensure_ascii=False))
    print(f"Written to {path}")


if __name__ == "__main__":
    main()

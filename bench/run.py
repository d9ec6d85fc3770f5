"""Benchmark runner (issue 7, item 2) — FIRST SLICE: account list page 1 and account 360 (normal and
skewed account) for three users, each beside hand-written SQL with the same visibility predicate.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kamcrm_scale .venv/bin/python bench/run.py --reps 30
    DATABASE_URL=sqlite:////tmp/kamcrm_scale.sqlite3 .venv/bin/python bench/run.py --reps 30

Runs against a database built by `kamcrm generate --scale S` (it finds the generator's people and the
account with external id "skew-account"). Each operation: one cold run (the first request of this
process: Django's and the database's caches as the previous process left them — not a dropped OS
cache) and `--reps` warm runs, reported as p50/p95/p99 of the whole request through Django's test
client in this process (middleware, views, templates; no HTTP server), the request's own database
time (sum of its queries, timed around each execute — fetching included where the driver fetches
on execute) and query count. Beside each: the baseline, hand-written SQL returning the
same rows (list: the first page with the same columns and joins; 360: the account row and the first
timeline page — the page's two reads that grow with the data), with the visibility predicate written
out from the user's reach (owners, owning-unit subtrees, sharing-rule regions, account team).

Writes bench/results/scale-<db>-<date>.json and prints a markdown table. Not yet measured (later
slices): page 1,000, filters by region and tier, search/autocomplete, the API under gunicorn, reports,
import/export against COPY, interference.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kamcrm.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.common import QueryTimer, summary  # noqa: E402
from kamcrm.customers.models import Account  # noqa: E402
from kamcrm.org.models import User  # noqa: E402
from kamcrm.org.selectors import _reach, visible  # noqa: E402
from kamcrm.scale.generator import SKEW_ACCOUNT_EXT, USER_PREFIX  # noqa: E402

# The three users of the issue: an executive (100 %), a manager (the head of the skew owner's branch:
# about a quarter at any S) and an account manager (the owner of the skewed account, < 1 %).
PERSONAS = {"executive": f"{USER_PREFIX}exec", "manager": f"{USER_PREFIX}head_b01", "rep": None}
PAGE_SIZE = 50
TIMELINE_PAGE = 20


def run_page(client: Client, url: str, reps: int) -> dict:
    samples = []
    for _ in range(reps + 1):
        timer = QueryTimer()
        with connection.execute_wrapper(timer):
            started = time.perf_counter()
            response = client.get(url)
            ms = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise SystemExit(f"GET {url} answered {response.status_code}")
        samples.append((ms, timer.seconds * 1000, timer.count))
    return summary(samples)


def run_sql(statements: list[tuple[str, list]], reps: int) -> dict:
    samples = []
    for _ in range(reps + 1):
        started = time.perf_counter()
        with connection.cursor() as cursor:
            for sql, params in statements:
                cursor.execute(sql, params)
                cursor.fetchall()
        ms = (time.perf_counter() - started) * 1000
        samples.append((ms, ms, len(statements)))
    return summary(samples)


def predicate(user: User, account_id: str = "a.id") -> tuple[str, list]:
    """The visibility predicate over customers_account `a`, hand-written from the user's reach
    (`account_id`: the column the account-team test correlates to, e.g. "o.account_id")."""
    r = _reach(user, "view")
    if r.everything:
        return "TRUE" if connection.vendor == "postgresql" else "1", []
    parts, params = [], []
    owners = sorted(r.owner_ids)
    parts.append(f"a.owner_id IN ({', '.join(['%s'] * len(owners))})")
    params += owners
    for column, paths in (("owner_unit_id", r.unit_paths), ("region_id", r.region_paths)):
        if paths:
            likes = " OR ".join(["u.path LIKE %s"] * len(paths))
            parts.append(f"a.{column} IN (SELECT u.id FROM org_orgunit u WHERE {likes})")
            params += [p + "%" for p in paths]
    today = timezone.localdate()
    parts.append(f"EXISTS (SELECT 1 FROM customers_accountteammember t WHERE t.account_id = {account_id} AND t.user_id = %s "
                 "AND (t.valid_from IS NULL OR t.valid_from <= %s) AND (t.valid_to IS NULL OR t.valid_to >= %s))")
    params += [user.pk, today, today]
    return "(" + " OR ".join(parts) + ")", params


def list_sql(user: User) -> list[tuple[str, list]]:
    where, params = predicate(user)
    return [(
        "SELECT a.*, o.id, o.username, o.display_name, r.id, r.name, r.code, p.id, p.name "
        "FROM customers_account a JOIN org_user o ON o.id = a.owner_id JOIN org_orgunit r ON r.id = a.region_id "
        f"LEFT JOIN customers_account p ON p.id = a.parent_id WHERE {where} ORDER BY a.name, a.id LIMIT %s",
        [*params, PAGE_SIZE + 1])]


def detail_sql(user: User, account_id: int) -> list[tuple[str, list]]:
    where, params = predicate(user)
    return [
        (f"SELECT a.* FROM customers_account a WHERE a.id = %s AND {where}", [account_id, *params]),
        ("SELECT e.* FROM audit_timelineevent e WHERE e.account_id = %s ORDER BY e.occurred_at DESC, e.id DESC "
         "LIMIT %s", [account_id, TIMELINE_PAGE + 1]),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    settings.SECURE_SSL_REDIRECT = False  # the test client speaks plain HTTP

    skewed = Account.objects.filter(external_id=SKEW_ACCOUNT_EXT).first()
    if skewed is None:
        raise SystemExit("No generated data here: run `kamcrm generate --scale S` first.")
    total = Account.objects.count()
    personas = dict(PERSONAS, rep=skewed.owner.username)
    normal = Account.objects.filter(owner_id=skewed.owner_id, parent__isnull=True).exclude(pk=skewed.pk) \
        .order_by("id").first()
    results = {"database": connection.vendor, "accounts": total, "reps": args.reps,
               "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "machine": platform.platform(),
               "cpus": os.cpu_count(), "python": sys.version.split()[0], "operations": []}
    for persona, username in personas.items():
        user = User.objects.get(username=username)
        share = visible(Account.objects.all(), user).count() / total
        client = Client()
        client.force_login(user)
        ops = [("account list, page 1", reverse("customers:account_list"), list_sql(user))]
        for label, account in (("account 360, normal", normal), ("account 360, skewed", skewed)):
            ops.append((label, reverse("customers:account", args=[account.pk]), detail_sql(user, account.pk)))
        for label, url, sql in ops:
            page = run_page(client, url, args.reps)
            base = run_sql(sql, args.reps)
            row = {"operation": label, "persona": persona, "visible_share": round(share, 4), "page": page,
                   "baseline": base, "p95_ratio": round(page["p95_ms"] / max(base["p95_ms"], 0.001), 1),
                   "db_ratio": round(page["db_p50_ms"] / max(base["p50_ms"], 0.001), 1)}
            results["operations"].append(row)
            print(f"{label:<22} {persona:<9} ({share:6.1%})  p50 {page['p50_ms']:7.1f}  p95 {page['p95_ms']:7.1f}  "
                  f"p99 {page['p99_ms']:7.1f}  cold {page['cold_ms']:7.1f} ms  db {page['db_p50_ms']:6.1f} ms  "
                  f"{page['queries']:>2} q | SQL p95 {base['p95_ms']:6.2f} ms", flush=True)
    out = Path(args.out) if args.out else \
        ROOT / "bench" / "results" / f"scale-{connection.vendor}-{dt.date.today().isoformat()}.json"
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    print()
    print("| operation | user (visible) | p50 ms | p95 ms | p99 ms | cold ms | DB ms (p50) | queries | "
          "SQL p95 ms | page ÷ SQL (p95) | DB ÷ SQL |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results["operations"]:
        p, b = r["page"], r["baseline"]
        print(f"| {r['operation']} | {r['persona']} ({r['visible_share']:.1%}) | {p['p50_ms']} | {p['p95_ms']} | "
              f"{p['p99_ms']} | {p['cold_ms']} | {p['db_p50_ms']} | {p['queries']} | {b['p95_ms']} | "
              f"{r['p95_ratio']}× | {r['db_ratio']}× |")
    print(f"\nWritten to {out}")


if __name__ == "__main__":
    main()

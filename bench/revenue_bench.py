"""Revenue benchmark (issue 5): schedule generation, the re-split of one amended agreement, and the
expected-revenue report per unit × month from the facts versus straight from the slices.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kamcrm_scale .venv/bin/python bench/revenue_bench.py --reps 30
    DATABASE_URL=sqlite:////path/kamcrm_scale.sqlite3 .venv/bin/python bench/revenue_bench.py --reps 30

Runs against a database built by `kamcrm generate --scale S` then `kamcrm generate_revenue --scale S`.
Every write is made inside a transaction that is rolled back, so the database is unchanged and each
repetition starts from the same state.

1. Schedule generation through the services: sign `--sign` new agreements (one 36-month line each, a
   third pro-rated by day) with agreements.services.agreement_sign — slices written per second, facts
   included. Beside it, the bulk rate of `generate_revenue` (its JSON, if `--gen-json` is given).
2. Re-split: agreements.services.agreement_amend on one active agreement (value +10 % from the first
   of next month: supersede the later slices, write the new version, refresh the account's facts),
   p50/p95 over distinct agreements. Baseline: the same writes as hand-written SQL (one UPDATE, one
   multi-row INSERT).
3. Report: analytics.selectors.revenue_by_unit_month for the executive (whole company) and a branch
   head, against (a) hand SQL over the roll-ups and (b) hand SQL straight over the current slices —
   the script asserts all three give the same numbers.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import sys
import time
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kamcrm.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402

from bench.common import QueryTimer, summary  # noqa: E402
from kamcrm.agreements import services  # noqa: E402
from kamcrm.agreements.choices import AgreementStatus, Rule  # noqa: E402
from kamcrm.agreements.models import Agreement, AgreementLine  # noqa: E402
from kamcrm.agreements.schedule import month_of, next_month  # noqa: E402
from kamcrm.analytics.selectors import revenue_by_unit_month  # noqa: E402
from kamcrm.customers.models import Account  # noqa: E402
from kamcrm.org.models import User  # noqa: E402
from kamcrm.org.selectors import _reach  # noqa: E402
from kamcrm.products.models import Product  # noqa: E402
from kamcrm.scale.generator import USER_PREFIX  # noqa: E402

CENT = Decimal("0.01")


class Rollback(Exception):
    pass


def timed(fn, reps: int) -> dict:
    """One cold call and `reps` warm ones of fn(i), each inside a rolled-back transaction."""
    samples = []
    for i in range(reps + 1):
        timer = QueryTimer()
        try:
            with transaction.atomic(), connection.execute_wrapper(timer):
                started = time.perf_counter()
                fn(i)
                ms = (time.perf_counter() - started) * 1000
                raise Rollback
        except Rollback:
            pass
        samples.append((ms, timer.seconds * 1000, timer.count))
    return summary(samples)


def sign_rate(n: int) -> dict:
    accounts = list(Account.objects.order_by("pk").values_list("pk", flat=True)[:n])
    products = list(Product.objects.filter(list_price__gt=0).order_by("pk")[:5])
    today = dt.date.today()
    slices = 0
    try:
        with transaction.atomic():
            started = time.perf_counter()
            for i, account_id in enumerate(accounts):
                account = Account.objects.select_related("owner", "owner__unit").get(pk=account_id)
                start = month_of(today) if i % 3 else month_of(today).replace(day=15)
                end = dt.date(start.year + 3, start.month, 1) - dt.timedelta(days=1)
                agreement = services.agreement_create(
                    account=account, number=f"BENCH-{i}", title="bench", owner=account.owner, start_date=start,
                    end_date=end, lines=[{"product": products[i % len(products)], "amount": Decimal(360_000 + i),
                                          "rule": Rule.DAILY if i % 3 == 0 else Rule.MONTHLY}])
                services.agreement_sign(agreement=agreement)
                slices += 36 if i % 3 else 37
            seconds = time.perf_counter() - started
            raise Rollback
    except Rollback:
        pass
    return {"agreements": len(accounts), "slices": slices, "seconds": round(seconds, 2),
            "agreements_per_s": round(len(accounts) / seconds, 1), "slices_per_s": round(slices / seconds)}


def resplit(reps: int, seed: int) -> tuple[dict, dict]:
    today = dt.date.today()
    effective = next_month(month_of(today))
    # Candidates: active, monthly, running well past next month (an id range keeps this one cheap query).
    pool = list(Agreement.objects.filter(status=AgreementStatus.ACTIVE, end_date__gt=effective + dt.timedelta(days=60))
                .order_by("pk").values_list("pk", flat=True)[:5000])
    chosen = random.Random(seed).sample(pool, min(len(pool), reps + 1))

    def amend(i: int) -> None:
        agreement = Agreement.objects.get(pk=chosen[i])
        line = agreement.lines.first()
        services.agreement_amend(agreement=agreement, effective=effective,
                                 lines=[{"id": line.pk, "amount": (line.amount * Decimal("1.1")).quantize(CENT)}])

    def hand(i: int) -> None:
        line = AgreementLine.objects.filter(agreement_id=chosen[i]).values("pk", "agreement_id", "amount",
                                                                           "end_date").first()
        with connection.cursor() as cursor:
            cursor.execute("SELECT COALESCE(SUM(amount), 0), COUNT(*) FROM agreements_revenueslice "
                           "WHERE line_id = %s AND superseded_at IS NULL AND month < %s", [line["pk"], effective])
            kept, _n = cursor.fetchone()
            cursor.execute("UPDATE agreements_revenueslice SET superseded_at = %s WHERE line_id = %s "
                           "AND superseded_at IS NULL AND month >= %s", [dt.datetime.now(dt.UTC), line["pk"], effective])
            months = []
            m = effective
            while m <= line["end_date"]:
                months.append(m)
                m = next_month(m)
            rest = (line["amount"] * Decimal("1.1")).quantize(CENT) - Decimal(str(kept))
            share = (rest / len(months)).quantize(CENT, rounding="ROUND_DOWN")
            rows = [(line["pk"], line["agreement_id"], mo, share, 2, dt.datetime.now(dt.UTC)) for mo in months]
            values = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(rows))
            cursor.execute("INSERT INTO agreements_revenueslice (line_id, agreement_id, month, amount, version, "
                           f"recorded_at) VALUES {values}", [v for r in rows for v in r])

    return timed(amend, reps), timed(hand, reps)


def report_sql_rollups(user: User, year: int) -> dict:
    where, params = predicate(user, "r")
    with connection.cursor() as cursor:
        cursor.execute("SELECT r.owner_unit_id, r.month, SUM(r.expected) FROM analytics_revenuerollup r "
                       f"WHERE r.month >= %s AND r.month <= %s AND {where} GROUP BY r.owner_unit_id, r.month",
                       [dt.date(year, 1, 1), dt.date(year, 12, 1), *params])
        return _cells(cursor.fetchall())


def report_sql_slices(user: User, year: int) -> dict:
    """Straight from the slices: current slices of the year, joined to the account for its owner and unit
    (generated accounts have no ownership history, so the current owner is the month's owner)."""
    where, params = predicate(user, "a")
    with connection.cursor() as cursor:
        cursor.execute("SELECT a.owner_unit_id, s.month, SUM(s.amount) FROM agreements_revenueslice s "
                       "JOIN agreements_agreement g ON g.id = s.agreement_id "
                       "JOIN customers_account a ON a.id = g.account_id "
                       f"WHERE s.superseded_at IS NULL AND s.month >= %s AND s.month <= %s AND {where} "
                       "GROUP BY a.owner_unit_id, s.month", [dt.date(year, 1, 1), dt.date(year, 12, 1), *params])
        return _cells(cursor.fetchall())


def _cells(rows) -> dict:
    out: dict = defaultdict(Decimal)
    for unit, month, value in rows:
        month = dt.date.fromisoformat(str(month)[:10])
        out[(unit, month)] += Decimal(str(value)).quantize(CENT)
    return {k: v for k, v in out.items() if v}


def predicate(user: User, alias: str) -> tuple[str, list]:
    """The reach of the user over rows carrying owner_id, owner_unit_id and region_id (roll-ups or accounts)."""
    r = _reach(user, "view")
    if r.everything:
        return "1 = 1", []
    owners = sorted(r.owner_ids)
    parts, params = [f"{alias}.owner_id IN ({', '.join(['%s'] * len(owners))})"], list(owners)
    for column, paths in (("owner_unit_id", r.unit_paths), ("region_id", r.region_paths)):
        if paths:
            parts.append(f"{alias}.{column} IN (SELECT u.id FROM org_orgunit u WHERE "
                         + " OR ".join(["u.path LIKE %s"] * len(paths)) + ")")
            params += [p + "%" for p in paths]
    return "(" + " OR ".join(parts) + ")", params


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--sign", type=int, default=200, help="agreements signed through the services")
    parser.add_argument("--gen-json", default="", help="the JSON written by generate_revenue --json")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    if not Agreement.objects.filter(source_system="scale").exists():
        raise SystemExit("No scale agreements here: run `kamcrm generate` and `kamcrm generate_revenue` first.")
    year = dt.date.today().year
    results = {"database": connection.vendor, "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
               "machine": platform.platform(), "cpus": os.cpu_count(), "load": os.getloadavg(),
               "agreements": Agreement.objects.count(), "reps": args.reps}
    if args.gen_json:
        gen = json.loads(Path(args.gen_json).read_text())
        results["generator"] = {t["label"]: t for t in gen["tables"]}
        results["generator_facts_seconds"] = gen.get("facts_seconds")
    results["sign"] = sign_rate(args.sign)
    print(f"sign through the services: {results['sign']}", flush=True)
    orm, hand = resplit(args.reps, args.seed)
    results["resplit"] = {"service": orm, "hand_sql": hand}
    print(f"re-split: service p50 {orm['p50_ms']} p95 {orm['p95_ms']} ms ({orm['queries']} q) | "
          f"hand SQL p50 {hand['p50_ms']} p95 {hand['p95_ms']} ms", flush=True)
    results["report"] = []
    for persona, username in (("executive", f"{USER_PREFIX}exec"), ("branch head", f"{USER_PREFIX}head_b01")):
        user = User.objects.get(username=username)
        grid = revenue_by_unit_month(user=user, year=year)
        from_facts = {(unit.pk, m): v for unit, cells in grid.rows for m, v in zip(grid.months, cells, strict=True) if v}
        assert from_facts == report_sql_rollups(user, year), "roll-up SQL differs from the selector"
        assert from_facts == report_sql_slices(user, year), "slices differ from the facts"
        row = {"persona": persona, "cells": len(from_facts), "total": str(grid.total),
               "selector": timed(lambda _i, u=user: revenue_by_unit_month(user=u, year=year), args.reps),
               "sql_rollups": timed(lambda _i, u=user: report_sql_rollups(u, year), args.reps),
               "sql_slices": timed(lambda _i, u=user: report_sql_slices(u, year), max(3, args.reps // 6))}
        results["report"].append(row)
        print(f"report {persona:<12} cells {row['cells']:>5}  selector p95 {row['selector']['p95_ms']} ms | "
              f"SQL on roll-ups p95 {row['sql_rollups']['p95_ms']} ms | SQL on slices p95 "
              f"{row['sql_slices']['p95_ms']} ms", flush=True)
    out = Path(args.out) if args.out else \
        ROOT / "bench" / "results" / f"revenue-{connection.vendor}-{dt.date.today().isoformat()}.json"
    out.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    print(f"\nWritten to {out}")


if __name__ == "__main__":
    main()

"""Target completion benchmark (issue 6, issue 7): the completion dashboard for the whole company — every
unit × 12 months — read from the revenue facts' roll-ups and the other metrics' sources, beside the
hand-written SQL that returns the same numbers.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kamcrm_scale .venv/bin/python bench/completion_bench.py --reps 30

Runs against a database built by `kamcrm generate --scale S`, `kamcrm generate_revenue --scale S` and
`kamcrm generate_targets` (this year's decomposed, approved plan over every unit and sales person).
Measured, each as one cold run (the first of this process) and `--reps` warm runs (p50/p95/p99, the
database time and the query count), for the executive (the whole company) and a branch head:
1. `targets.selectors.completion_by_unit_month` for expected revenue: target and actual for every unit the
   user sees × 12 months, each unit's actual covering its subtree. Baseline: one hand-written SQL for the
   targets and one for the actuals rolled up the unit tree in SQL (a join on the path prefix); the script
   asserts both give the same cells.
2. The same grid for every active metric (the dashboard's seven tables).
3. The whole completion page for the company (`/targets/completion/?unit=<top>&period=year`): the seven
   metrics' completion, the ranking of the units and people below, the grid and the trend, rendered.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
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

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402

from bench.common import QueryTimer, summary  # noqa: E402
from kamcrm.org.models import OrgUnit, User  # noqa: E402
from kamcrm.org.selectors import _reach  # noqa: E402
from kamcrm.scale.generator import USER_PREFIX  # noqa: E402
from kamcrm.targets import selectors  # noqa: E402
from kamcrm.targets.models import Metric, TargetLine  # noqa: E402

CENT = Decimal("0.01")


def timed(fn, reps: int) -> dict:
    samples = []
    for i in range(reps + 1):
        timer = QueryTimer()
        with connection.execute_wrapper(timer):
            started = time.perf_counter()
            fn(i)
            ms = (time.perf_counter() - started) * 1000
        samples.append((ms, timer.seconds * 1000, timer.count))
    return summary(samples)


def grid_cells(rows) -> dict:
    return {(r.unit.pk, m + 1, kind): v for r in rows for kind, values in (("t", r.target), ("a", r.actual))
            for m, v in enumerate(values) if v}


def hand_sql(user: User, plan, metric: Metric, year: int) -> dict:
    """Targets of the units the user sees, and expected revenue per unit subtree × month, in two queries."""
    r = _reach(user, "view")
    unit_where, params = "1 = 1", []
    if not r.everything:
        unit_where = "(" + " OR ".join(["u.path LIKE %s"] * len(r.unit_paths)) + ")" if r.unit_paths else "1 = 0"
        params = [p + "%" for p in r.unit_paths]
    out: dict = defaultdict(Decimal)
    with connection.cursor() as cursor:
        cursor.execute("SELECT l.unit_id, l.month, l.amount FROM targets_targetline l JOIN org_orgunit u ON u.id = l.unit_id "
                       "WHERE l.plan_id = %s AND l.metric_id = %s AND l.person_id IS NULL AND NOT l.is_unallocated "
                       f"AND l.product_line_id IS NULL AND u.is_active AND {unit_where}", [plan.pk, metric.pk, *params])
        for unit, month, amount in cursor.fetchall():
            out[(unit, month, "t")] += Decimal(str(amount))
        cursor.execute(
            f"SELECT u.id, r.month, SUM(r.{metric.source}) FROM analytics_revenuerollup r "
            "JOIN org_orgunit o ON o.id = r.owner_unit_id "
            "JOIN org_orgunit u ON o.path LIKE u.path || '%%' "
            f"WHERE r.month >= %s AND r.month <= %s AND u.is_active AND {unit_where} GROUP BY u.id, r.month",
            [dt.date(year, 1, 1), dt.date(year, 12, 1), *params])
        for unit, month, value in cursor.fetchall():
            month = dt.date.fromisoformat(str(month)[:10]).month
            out[(unit, month, "a")] += Decimal(str(value)).quantize(CENT)
    return {k: v for k, v in out.items() if v}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--page-reps", type=int, default=10)
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    year = dt.date.today().year
    plan = selectors.plan_in_force(year=year)
    if plan is None:
        raise SystemExit("No target plan for this year: run `kamcrm generate_targets` first.")
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    settings.SECURE_SSL_REDIRECT = False  # the test client speaks plain HTTP
    expected = Metric.objects.get(source="expected", is_active=True)
    metrics = list(selectors.metric_list())
    top = OrgUnit.objects.filter(parent__isnull=True).order_by("path").first()
    results = {"database": connection.vendor, "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
               "machine": platform.platform(), "cpus": os.cpu_count(), "load": os.getloadavg(), "reps": args.reps,
               "units": OrgUnit.objects.filter(is_active=True).count(), "target_lines": TargetLine.objects.filter(
                   plan=plan).count(), "plan": str(plan), "rows": []}
    from kamcrm.analytics.models import RevenueRollup

    results["rollup_rows"] = RevenueRollup.objects.count()
    print(f"{connection.vendor}: {results['units']} units, {results['target_lines']:,} target lines, "
          f"{results['rollup_rows']:,} roll-up rows", flush=True)
    for persona, username in (("executive", f"{USER_PREFIX}exec"), ("branch head", f"{USER_PREFIX}head_b01")):
        user = User.objects.get(username=username)
        rows = selectors.completion_by_unit_month(user=user, metric=expected, year=year, plan=plan)
        assert grid_cells(rows) == hand_sql(user, plan, expected, year), "hand SQL differs from the selector"
        row = {"persona": persona, "units": len(rows),
               "grid": timed(lambda _i, u=user: selectors.completion_by_unit_month(
                   user=u, metric=expected, year=year, plan=plan), args.reps),
               "grid_sql": timed(lambda _i, u=user: hand_sql(u, plan, expected, year), args.reps),
               "all_metrics": timed(lambda _i, u=user: [selectors.completion_by_unit_month(
                   user=u, metric=m, year=year, plan=plan) for m in metrics], max(3, args.reps // 3))}
        client = Client()
        client.force_login(user)
        unit = top if persona == "executive" else user.unit
        url = f"{reverse('targets:completion')}?unit={unit.pk}&period=year&metric={expected.code}"

        def page(_i, c=client, u=url):
            response = c.get(u)
            assert response.status_code == 200, response.status_code

        row["page"] = timed(page, args.page_reps)
        results["rows"].append(row)
        print(f"{persona:<12} units {row['units']:>4}  grid p50 {row['grid']['p50_ms']} p95 {row['grid']['p95_ms']} ms "
              f"({row['grid']['queries']} q) | hand SQL p50 {row['grid_sql']['p50_ms']} p95 {row['grid_sql']['p95_ms']} | "
              f"7 metrics p95 {row['all_metrics']['p95_ms']} ms | page p50 {row['page']['p50_ms']} "
              f"p95 {row['page']['p95_ms']} ms ({row['page']['queries']} q)", flush=True)
    out = Path(args.out) if args.out else \
        ROOT / "bench" / "results" / f"completion-{connection.vendor}-{dt.date.today().isoformat()}.json"
    out.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    print(f"\nWritten to {out}")


if __name__ == "__main__":
    main()

"""Funnel benchmark (issue 4): `kamcrm.sales.selectors.funnel()` at scale, beside hand-written SQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kamcrm_scale .venv/bin/python bench/funnel_bench.py --reps 20
    DATABASE_URL=sqlite:////work/data-scale/kamcrm_scale.sqlite3 .venv/bin/python bench/funnel_bench.py --reps 20

Runs against a database built by `kamcrm generate --scale S`. The executive (company level, every
opportunity) and teams (`--teams`, sales managers from the generator's people, each with unit= their
own team unit; by default the largest team, the skewed account manager's, and a typical one). For each:

- the selector `funnel(user=..., unit=...)`: one cold run (the first call of this process for that
  user: Django's and the database's caches as the previous run left them — not a dropped OS cache)
  and `--reps` warm runs, p50/p95/p99, its own database time and query count;
- beside it, interleaved run for run (so that load on the machine hits both alike), hand-written SQL
  computing the same numbers: per stage the count, amount and weighted amount, the "reached" counts
  behind the conversion rates, and the average days in stage, with the same visibility predicate
  written out from the user's reach (bench/baselines.py::predicate; computed once, outside the timing)
  and the same unit filter. The script ASSERTS that every figure the selector returns equals the
  SQL's (counts, Decimal amounts and weighted amounts, reached, conversion, average days);
- the funnel page through Django's test client (the whole request: form, selector, the
  week-over-week card, template), and the week-over-week card's selector on its own, so that the
  page's cost can be split.

Also, as a floor for this machine at this moment: a bare `SELECT COUNT(*)` over the opportunities and
over the stage history (warm p50). "÷ SQL" is p95 over p95 in the same run. Writes bench/results/funnel-<db>-<date>.json and prints a
markdown table.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
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

from bench.baselines import predicate  # noqa: E402
from bench.common import QueryTimer, summary  # noqa: E402
from kamcrm.customers.models import AccountTeamMember  # noqa: E402
from kamcrm.org.models import OrgUnit, User  # noqa: E402
from kamcrm.org.selectors import _reach  # noqa: E402
from kamcrm.sales.changes import week_over_week  # noqa: E402
from kamcrm.sales.choices import StageKind  # noqa: E402
from kamcrm.sales.models import Opportunity, OpportunityStageChange  # noqa: E402
from kamcrm.sales.selectors import funnel  # noqa: E402
from kamcrm.scale.generator import USER_PREFIX  # noqa: E402

CENT = Decimal("0.01")
# Two teams: the first branch's first team (scale_rep0001's, who owns the skewed share of accounts: the
# largest team) and a typical one.
DEFAULT_TEAMS = f"{USER_PREFIX}manager_b01d1t1,{USER_PREFIX}manager_b02d1t1"


# ---- the hand-written SQL ---------------------------------------------------------------------

def scope_sql(user: User, unit) -> tuple[str, str, list]:
    """(joins, where, params) over sales_opportunity `o`: the visibility predicate on its account `a`
    and the unit filter on the opportunity's owning unit. An everything-user without a unit filter
    needs neither join nor predicate."""
    where, params = predicate(user)
    joins = ""
    if where not in ("TRUE", "1"):
        joins = " JOIN customers_account a ON a.id = o.account_id"
    if unit is not None:  # the subtree's unit ids, looked up once like the predicate
        ids = list(OrgUnit.objects.filter(path__startswith=unit.path).values_list("pk", flat=True))
        where += f" AND o.owner_unit_id IN ({', '.join(['%s'] * len(ids))})"
        params = [*params, *ids]
    return joins, where, params


def funnel_sql(user: User, unit) -> list[tuple[str, list]]:
    """Four statements: the stage path, the per-stage figures, the furthest stage reached by each
    opportunity counted per stage order, the average completed stay per stage."""
    joins, where, params = scope_sql(user, unit)
    if connection.vendor == "postgresql":
        amount, weighted = "SUM(o.amount)", "SUM(o.amount * o.probability)"
    else:  # SQLite keeps decimals as REAL/INTEGER: sum whole cents, exactly, in 64-bit integers
        amount = "SUM(CAST(ROUND(o.amount * 100) AS INTEGER))"
        weighted = "SUM(CAST(ROUND(o.amount * 100) AS INTEGER) * o.probability)"
    everything = not joins and unit is None
    # History rows of the scoped opportunities (every history row has its opportunity: FK, cascade).
    # IN (...) rather than a join: SQLite plans the join from the history side (the whole history).
    h_where = "TRUE" if everything else \
        f"h.opportunity_id IN (SELECT o.id FROM sales_opportunity o{joins} WHERE {where})"
    progress = (StageKind.OPEN.value, StageKind.WON.value)
    return [
        ('SELECT s.id, s."order", s.kind, s.is_active FROM sales_stage s ORDER BY s."order", s.id', []),
        (f"SELECT o.stage_id, COUNT(*), {amount}, {weighted} FROM sales_opportunity o{joins} WHERE {where} "
         "GROUP BY o.stage_id", params),
        ('SELECT t.top, COUNT(*) FROM (SELECT h.opportunity_id, MAX(s."order") AS top '
         "FROM sales_opportunitystagechange h JOIN sales_stage s ON s.id = h.to_stage_id "
         f"WHERE s.kind IN (%s, %s) AND {h_where} GROUP BY h.opportunity_id) t GROUP BY t.top",
         [*progress, *([] if everything else params)]),
        ("SELECT h.to_stage_id, AVG(h.seconds_in_stage) FROM sales_opportunitystagechange h "
         f"WHERE h.seconds_in_stage IS NOT NULL AND {h_where} GROUP BY h.to_stage_id", [] if everything else params),
    ]


def rollup_sql(user: User, unit) -> list[tuple[str, list]]:
    """The same figures from the funnel's roll-up (sales_funnelrollup), hand-written: the stage path and
    one GROUP BY over the roll-up rows the user's reach covers (tested on the account's owner, unit and
    region, as the visibility predicate does), narrowed to the unit's subtree."""
    r = _reach(user, "view")
    parts, params = [], []
    if not r.everything:
        owners = sorted(r.owner_ids)
        ors = [f"f.account_owner_id IN ({', '.join(['%s'] * len(owners))})"]
        params += owners
        for column, paths in (("account_unit_id", r.unit_paths), ("region_id", r.region_paths)):
            if paths:
                likes = " OR ".join(["u.path LIKE %s"] * len(paths))
                ors.append(f"f.{column} IN (SELECT u.id FROM org_orgunit u WHERE {likes})")
                params += [p + "%" for p in paths]
        parts.append("(" + " OR ".join(ors) + ")")
        # The selector adds, live, accounts seen only through an account team; the generated data has no
        # account teams, which this hand-written baseline relies on (checked here, outside the timing).
        if AccountTeamMember.objects.filter(user=user).exists():
            raise SystemExit(f"{user}: account-team memberships are not covered by the roll-up baseline")
    if unit is not None:
        ids = list(OrgUnit.objects.filter(path__startswith=unit.path).values_list("pk", flat=True))
        parts.append(f"f.owner_unit_id IN ({', '.join(['%s'] * len(ids))})")
        params += ids
    where = " AND ".join(parts) or "1 = 1"
    return [
        ('SELECT s.id, s."order", s.kind, s.is_active FROM sales_stage s ORDER BY s."order", s.id', []),
        ("SELECT f.stage_id, SUM(f.n), SUM(f.cents), SUM(f.weighted), SUM(f.furthest), SUM(f.stay_seconds), "
         f"SUM(f.stays) FROM sales_funnelrollup f WHERE {where} GROUP BY f.stage_id", params),
    ]


def rollup_figures(results: list[list[tuple]]) -> dict[int, dict]:
    stages, sums = results
    out = {}
    for pk, order, kind, active in stages:
        out[pk] = {"order": order, "kind": kind, "active": bool(active), "count": 0, "amount": Decimal(0),
                   "weighted": Decimal(0), "reached": 0, "conversion": None, "avg_days": None, "furthest": 0}
    for pk, n, cents, weighted, furthest, seconds, stays in sums:
        if pk in out:
            out[pk].update(count=int(n), amount=(Decimal(int(cents)) / 100).quantize(CENT),
                           weighted=(Decimal(int(weighted)) / 10000).quantize(CENT), furthest=int(furthest))
            if stays:
                out[pk]["avg_days"] = round(float(Decimal(int(seconds)) / int(stays)) / 86400, 1)
    progress = [(pk, row["order"], row["kind"]) for pk, row in out.items()
                if row["kind"] in (StageKind.OPEN, StageKind.WON)]
    for pk, order, _kind in progress:
        out[pk]["reached"] = sum(out[p]["furthest"] for p, o, _k in progress if o >= order)
    for pk, order, kind in progress:
        later = [p for p, o, _k in progress if o > order]
        if kind == StageKind.OPEN and later and out[pk]["reached"]:
            out[pk]["conversion"] = round(out[later[0]]["reached"] / out[pk]["reached"], 4)
    return out


def sql_figures(results: list[list[tuple]]) -> dict[int, dict]:
    """The funnel's figures per stage id from the four statements' rows (the selector's rules:
    reached(stage) = opportunities whose furthest open-or-won stage is at least that far; conversion
    = reached(next open-or-won stage) / reached(this), open stages only; days = seconds / 86,400)."""
    stages, per_stage, tops, stays = results
    sqlite = connection.vendor != "postgresql"
    out = {}
    for pk, order, kind, active in stages:
        out[pk] = {"order": order, "kind": kind, "active": bool(active), "count": 0, "amount": Decimal(0),
                   "weighted": Decimal(0), "reached": 0, "conversion": None, "avg_days": None}
    for pk, n, total, wsum in per_stage:
        if pk in out:
            total, wsum = (Decimal(total) / 100, Decimal(wsum) / 10000) if sqlite else (total, wsum / 100)
            out[pk].update(count=n, amount=Decimal(total), weighted=Decimal(wsum).quantize(CENT))
    progress = [(pk, row["order"], row["kind"]) for pk, row in out.items()
                if row["kind"] in (StageKind.OPEN, StageKind.WON)]
    for pk, order, _kind in progress:
        out[pk]["reached"] = sum(n for top, n in tops if top >= order)
    for pk, order, kind in progress:
        later = [p for p, o, _k in progress if o > order]
        if kind == StageKind.OPEN and later and out[pk]["reached"]:
            out[pk]["conversion"] = round(out[later[0]]["reached"] / out[pk]["reached"], 4)
    for pk, avg in stays:
        if pk in out and avg is not None:
            out[pk]["avg_days"] = round(float(avg) / 86400, 1)
    return out


def check_equal(result, figures: dict[int, dict], label: str) -> None:
    """Every figure of the selector's rows equals the SQL's, and it shows the stages it should."""
    shown = [pk for pk, row in figures.items() if row["active"] or row["count"]]
    got = [row.stage.pk for row in result.rows]
    assert got == shown, f"{label}: stages {got} != {shown}"
    for row in result.rows:
        want = figures[row.stage.pk]
        mine = {"count": row.count, "amount": row.amount, "weighted": row.weighted, "reached": row.reached,
                "conversion": row.conversion, "avg_days": row.avg_days}
        for key, value in mine.items():
            assert value == want[key] and type(value) is type(want[key]), \
                f"{label}, stage {row.stage.code}, {key}: selector {value!r} != SQL {want[key]!r}"


def run_sql(statements: list[tuple[str, list]], figures_of=sql_figures) -> tuple[float, dict]:
    started = time.perf_counter()
    with connection.cursor() as cursor:
        results = []
        for sql, params in statements:
            cursor.execute(sql, params)
            results.append(cursor.fetchall())
    figures = figures_of(results)
    return (time.perf_counter() - started) * 1000, figures


# ---- the runs ---------------------------------------------------------------------------------

def timed(fn):
    timer = QueryTimer()
    with connection.execute_wrapper(timer):
        started = time.perf_counter()
        value = fn()
        ms = (time.perf_counter() - started) * 1000
    return (ms, timer.seconds * 1000, timer.count), value


def machine_load() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def database_settings() -> dict:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            names = ["server_version", "shared_buffers", "work_mem", "effective_cache_size", "max_parallel_workers_per_gather",
                     "jit", "random_page_cost"]
            out = {}
            for name in names:
                cursor.execute(f"SHOW {name}")
                out[name] = cursor.fetchone()[0]
            return out
        out = {"sqlite_version": cursor.execute("SELECT sqlite_version()").fetchone()[0]}
        for name in ("journal_mode", "synchronous", "cache_size", "mmap_size"):
            out[name] = cursor.execute(f"PRAGMA {name}").fetchone()[0]
        return out


def floor(reps: int) -> dict:
    """Warm p50 of a bare COUNT(*) over each table the funnel reads in full at company level."""
    out = {}
    with connection.cursor() as cursor:
        for table in ("sales_opportunity", "sales_opportunitystagechange"):
            samples = []
            for _ in range(min(reps, 10) + 1):
                started = time.perf_counter()
                cursor.execute(f"SELECT COUNT(*) FROM {table}")
                cursor.fetchall()
                ms = (time.perf_counter() - started) * 1000
                samples.append((ms, ms, 1))
            out[f"count(*) {table}"] = summary(samples)["p50_ms"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=20, help="Warm repetitions of the selector and its SQL.")
    parser.add_argument("--page-reps", type=int, default=None, help="Warm repetitions of the page (default --reps).")
    parser.add_argument("--live-reps", type=int, default=5,
                        help="Warm repetitions of the live read and its SQL (seconds each at 1M; default 5).")
    parser.add_argument("--teams", default=DEFAULT_TEAMS, help=f"Team managers, comma-separated (default {DEFAULT_TEAMS}).")
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    page_reps = args.reps if args.page_reps is None else args.page_reps
    settings.SECURE_SSL_REDIRECT = False  # the test client speaks plain HTTP

    executive = User.objects.filter(username=f"{USER_PREFIX}exec").first()
    teams = [User.objects.select_related("unit").filter(username=name).first() for name in args.teams.split(",")]
    if executive is None or None in teams:
        raise SystemExit("No generated data here (or no such team manager): run `kamcrm generate --scale S` first.")
    total = Opportunity.objects.count()
    results = {"database": connection.vendor, "opportunities": total,
               "stage_history": OpportunityStageChange.objects.count(), "reps": args.reps, "page_reps": page_reps,
               "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "machine": platform.platform(),
               "cpus": os.cpu_count(), "python": sys.version.split()[0], "settings": database_settings(),
               "load_before": machine_load(), "operations": []}
    print(f"{connection.vendor}: {total:,} opportunities; {results['load_before']}", flush=True)
    results["floor"] = floor(args.reps)
    print("floor (bare COUNT(*), warm p50): " + ", ".join(f"{k} {v} ms" for k, v in results["floor"].items()), flush=True)
    for persona, user, unit in (("executive", executive, None), *(("team", t, t.unit) for t in teams)):
        label = "company" if unit is None else f"team {unit.code}"
        statements, from_rollup = funnel_sql(user, unit), rollup_sql(user, unit)
        orm, sql = [], []
        for rep in range(args.reps + 1):
            sample, result = timed(lambda u=user, n=unit: funnel(user=u, unit=n))
            orm.append(sample)
            ms, figures = run_sql(from_rollup, rollup_figures)
            sql.append((ms, ms, len(from_rollup)))
            if rep in (0, args.reps):
                check_equal(result, figures, f"{persona} rep {rep} (roll-up)")
        # The live read (what a funnel narrowed by dates or product line, or as of a past day, runs), beside
        # the hand-written SQL over the opportunities and their history; both must give the roll-up's figures.
        live, live_sql = [], []
        for rep in range(args.live_reps + 1):
            sample, result = timed(lambda u=user, n=unit: funnel(user=u, unit=n, source="live"))
            live.append(sample)
            ms, live_figures = run_sql(statements)
            live_sql.append((ms, ms, len(statements)))
            if rep in (0, args.live_reps):
                check_equal(result, live_figures, f"{persona} rep {rep} (live)")
                check_equal(result, figures, f"{persona} rep {rep} (live = roll-up)")
        share = sum(row["count"] for row in figures.values()) / max(total, 1)
        client = Client()
        client.force_login(user)
        url = reverse("sales:funnel") + (f"?unit={unit.pk}" if unit is not None else "")
        pages, weeks = [], []
        for _ in range(page_reps + 1):
            sample, response = timed(lambda c=client, u=url: c.get(u))
            if response.status_code != 200:
                raise SystemExit(f"GET {url} answered {response.status_code}")
            pages.append(sample)
            weeks.append(timed(lambda u=user, n=unit: week_over_week(user=u, unit=n))[0])
        rollup_base, live_base = summary(sql), summary(live_sql)
        for operation, samples, base in (
                ("funnel() selector", orm, rollup_base),
                ("funnel() selector, live read", live, live_base),
                ("funnel page (GET)", pages, rollup_base),
                ("week-over-week card (part of the page)", weeks, rollup_base)):
            s = summary(samples)
            row = {"operation": operation, "persona": persona, "scope": label, "visible_share": round(share, 4),
                   "visible_opportunities": sum(r["count"] for r in figures.values()), "run": s, "baseline": base,
                   "p95_ratio": round(s["p95_ms"] / max(base["p95_ms"], 0.001), 2),
                   "p50_ratio": round(s["p50_ms"] / max(base["p50_ms"], 0.001), 2)}
            results["operations"].append(row)
            print(f"{operation:<40} {persona:<9} ({share:6.1%})  cold {s['cold_ms']:8.1f}  p50 {s['p50_ms']:8.1f}  "
                  f"p95 {s['p95_ms']:8.1f}  p99 {s['p99_ms']:8.1f} ms  db {s['db_p50_ms']:8.1f} ms  {s['queries']:>2} q"
                  f" | SQL p95 {base['p95_ms']:8.1f} ms  ×{row['p95_ratio']}", flush=True)
    results["load_after"] = machine_load()
    out = Path(args.out) if args.out else \
        ROOT / "bench" / "results" / f"funnel-{connection.vendor}-{dt.date.today().isoformat()}.json"
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"\nload after: {results['load_after']}\n")
    print("| operation | user (visible) | cold ms | p50 ms | p95 ms | p99 ms | DB ms (p50) | queries | SQL cold ms | "
          "SQL p50 ms | SQL p95 ms | ÷ SQL (p95) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results["operations"]:
        s, b = r["run"], r["baseline"]
        print(f"| {r['operation']} | {r['persona']}, {r['scope']} ({r['visible_share']:.1%}) | {s['cold_ms']} | "
              f"{s['p50_ms']} | {s['p95_ms']} | {s['p99_ms']} | {s['db_p50_ms']} | {s['queries']} | {b['cold_ms']} | "
              f"{b['p50_ms']} | {b['p95_ms']} | {r['p95_ratio']}× |")
    print(f"\nWritten to {out}")


if __name__ == "__main__":
    main()

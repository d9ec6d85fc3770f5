"""Benchmark runner (issue 7, item 2): the key pages for three users, each beside hand-written SQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kamcrm_scale .venv/bin/python bench/run.py --reps 30
    DATABASE_URL=sqlite:////work/data-scale/kamcrm_scale.sqlite3 .venv/bin/python bench/run.py --reps 30
    ... bench/run.py --groups list --serve --interfere        # add the server and interference runs

Runs against a database built by `kamcrm generate --scale S` (it finds the generator's people and the
account with external id "skew-account"). Groups (`--groups`, default all four):

- list: the account list, page 1 unfiltered; filtered by region (the one where the user sees most
  accounts) and tier ("normal"), sorted by name, page 1 and page 1,000 — requested with the cursor the
  view itself would put in its "next" link on page 999 (built from the row that ends page 999 and the
  product's own encoder, checked against the links the view renders: `--follow N` follows N links);
  when the user's filtered list has fewer than 1,000 pages, its last page, and the row says which.
- detail: account 360 for a normal and for the skewed account.
- search: the navbar search page and its autocomplete (suggest) for a common and a rare term, and the
  account picker's lookup.
- api: /api/v1/ account and opportunity list (page 1) and detail.

Each operation: one cold run (the first request of this process for that URL) and `--reps` warm
runs, reported as p50/p95/p99 of the whole request through Django's test client in this process
(middleware, views, templates; no HTTP server), the request's own database time (sum of its queries,
timed around each execute — fetching included where the driver fetches on execute) and query count.
Beside each: the baseline, hand-written SQL returning the same rows with the visibility predicate
written out (bench/baselines.py). `--serve` adds requests/s under gunicorn (bench/serve.py);
`--interfere` adds the list's p95 while an import and the revenue fact refresh run in other
processes (bench/interfere.py).

Writes bench/results/scale-<db>-<date>.json (or --out) and prints a markdown table.
"""
from __future__ import annotations

import argparse
import datetime as dt
import html
import json
import math
import os
import platform
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kamcrm.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402

from bench import baselines  # noqa: E402
from bench.common import QueryTimer, pct, summary  # noqa: E402
from kamcrm.core.pagination import _encode  # noqa: E402
from kamcrm.customers import selectors as customer_selectors  # noqa: E402
from kamcrm.customers.models import Account, Contact  # noqa: E402
from kamcrm.org.models import OrgUnit, User  # noqa: E402
from kamcrm.org.selectors import visible  # noqa: E402
from kamcrm.sales.models import Opportunity  # noqa: E402
from kamcrm.scale.generator import SKEW_ACCOUNT_EXT, USER_PREFIX  # noqa: E402

# The three users of the issue: an executive (100 %), a manager (the head of the skew owner's branch)
# and an account manager (the owner of the skewed account, about 1 %).
PERSONAS = {"executive": f"{USER_PREFIX}exec", "manager": f"{USER_PREFIX}head_b01", "rep": None}
PAGE_SIZE = 50  # customers.views.PAGE_SIZE
SEARCH_LIMIT, SUGGEST_LIMIT, LOOKUP_LIMIT = 20, 5, 20  # core.views, customers.views
DEEP_PAGE = 1000
GROUPS = ("list", "detail", "search", "api")
ACCOUNT_SORT = ["name", "id"]


def run_page(client: Client, url: str, reps: int, **headers) -> dict:
    samples, cpu = [], []
    for _ in range(reps + 1):
        timer = QueryTimer()
        with connection.execute_wrapper(timer):
            started, cpu_started = time.perf_counter(), time.process_time()
            response = client.get(url, **headers)
            ms = (time.perf_counter() - started) * 1000
            cpu.append((time.process_time() - cpu_started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"GET {url} answered {response.status_code}")
        samples.append((ms, timer.seconds * 1000, timer.count))
    # This process's CPU time per request: on a loaded machine, wall time minus waiting for a core.
    return {**summary(samples), "cpu_p50_ms": round(pct(cpu[1:], 50), 2)}


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


def url_with(name: str, args: list | None = None, **query) -> str:
    url = reverse(name, args=args)
    params = [(k, v) for k, values in query.items() for v in (values if isinstance(values, list) else [values])]
    return f"{url}?{urlencode(params)}" if params else url


# ---- choosing what to ask for ----------------------------------------------------------------------

def filtered_choice(user: User) -> tuple[OrgUnit, str, int]:
    """The region where `user` sees most accounts, the commonest tier there, and how many rows that is."""
    base = visible(Account.objects.all(), user)
    region_id = base.values("region_id").annotate(n=Count("id")).order_by("-n", "region_id")[0]["region_id"]
    region = OrgUnit.objects.get(pk=region_id)
    top = customer_selectors.account_queryset(user=user, filters={"region": str(region.pk)}) \
        .values("tier").annotate(n=Count("id")).order_by("-n", "tier")[0]
    return region, top["tier"], top["n"]


def deep_cursor(user: User, filters: dict, page: int) -> str | None:
    """The cursor the list view puts in page `page - 1`'s "next" link: the (name, id) of the row that
    ends that page, encoded by the product's own encoder (kamcrm.core.pagination)."""
    if page <= 1:
        return None
    qs = customer_selectors.account_queryset(user=user, filters=filters).order_by(*ACCOUNT_SORT)
    name, pk = qs.values_list("name", "id")[(page - 1) * PAGE_SIZE - 1]
    return _encode([name, pk], "n")


def next_link(response) -> str | None:
    text = response.content.decode()
    marker = 'data-testid="page-next" href="'
    at = text.find(marker)
    if at < 0:
        return None
    href = html.unescape(text[at + len(marker): text.index('"', at + len(marker))])
    return parse_qs(urlsplit(href).query).get("cursor", [None])[0]


def check_cursor(client: Client, base_url: str, user: User, filters: dict, follow: int) -> None:
    """Follow the view's own "next" links `follow` times and compare with the constructed cursor."""
    cursor = None
    for _ in range(follow):
        response = client.get(base_url + (f"&cursor={cursor}" if cursor else ""))
        cursor = next_link(response)
        if cursor is None:
            return
    built = deep_cursor(user, filters, follow + 1)
    if built != cursor:
        raise SystemExit(f"the constructed cursor for page {follow + 1} differs from the view's link")


def search_terms(user: User) -> dict[str, str]:
    """A common term (the brand of the skewed account's owner's first visible account: ~1/200 of the
    names) and a rare one (a visible contact's full name plus nothing else matches few rows)."""
    first = visible(Account.objects.all(), user).order_by("id").only("name", "short_name", "region").first()
    region_name = first.region.name.replace("分公司", "")
    brand = first.short_name.replace(region_name, "")[:2] or first.name[:2]
    rare_account = visible(Account.objects.all(), user).order_by("-id").values_list("name", flat=True).first()
    return {"common": brand, "rare": rare_account.replace("有限公司", "")[-6:]}


# ---- groups ----------------------------------------------------------------------------------------

def list_ops(ctx: dict, user: User, client: Client, args) -> list[tuple]:  # noqa: ANN001
    ops = [("account list, page 1", url_with("customers:account_list"), baselines.account_page(user), {})]
    region, tier, rows = filtered_choice(user)
    filters = {"region": str(region.pk), "tier": [tier]}
    base = url_with("customers:account_list", region=region.pk, tier=tier, sort="name")
    pages = max(1, math.ceil(rows / PAGE_SIZE))
    deep = min(DEEP_PAGE, pages)
    if args.follow:
        check_cursor(client, base, user, filters, min(args.follow, deep - 1))
    meta = {"filter": f"region {region.code}, tier {tier}", "filtered_rows": rows, "pages": pages}
    ops.append(("account list, filtered, page 1", base,
                baselines.account_page(user, region_path=region.path, tiers=[tier]), {**meta, "page_no": 1}))
    cursor = deep_cursor(user, filters, deep)
    after = None
    if cursor:
        qs = customer_selectors.account_queryset(user=user, filters=filters).order_by(*ACCOUNT_SORT)
        after = tuple(qs.values_list("name", "id")[(deep - 1) * PAGE_SIZE - 1])
    label = "account list, filtered, page 1,000" if deep == DEEP_PAGE else f"account list, filtered, last page ({deep:,})"
    ops.append((label, base + (f"&cursor={cursor}" if cursor else ""),
                baselines.account_page(user, region_path=region.path, tiers=[tier], after=after),
                {**meta, "page_no": deep}))
    return ops


def detail_ops(ctx: dict, user: User, client: Client, args) -> list[tuple]:  # noqa: ANN001
    return [(label, reverse("customers:account", args=[account.pk]), baselines.account_360(user, account.pk), {})
            for label, account in (("account 360, normal", ctx["normal"]), ("account 360, skewed", ctx["skewed"]))]


def search_ops(ctx: dict, user: User, client: Client, args) -> list[tuple]:  # noqa: ANN001
    ops = []
    for kind, term in search_terms(user).items():
        meta = {"q": term}
        ops.append((f"search page, {kind} term", url_with("search", q=term),
                    baselines.search(user, term, SEARCH_LIMIT), meta))
        ops.append((f"autocomplete (suggest), {kind} term", url_with("search_suggest", q=term),
                    baselines.search(user, term, SUGGEST_LIMIT), meta))
        ops.append((f"account lookup (picker), {kind} term", url_with("customers:account_lookup", q=term),
                    baselines.account_lookup(user, term, LOOKUP_LIMIT), meta))
    return ops


def api_ops(ctx: dict, user: User, client: Client, args) -> list[tuple]:  # noqa: ANN001
    account = ctx["normal"]
    opportunity = visible(Opportunity.objects.filter(account=account), user).order_by("id").first() \
        or visible(Opportunity.objects.all(), user).order_by("id").first()
    return [
        ("API account list", "/api/v1/accounts/", baselines.account_page(user), {}),
        ("API account detail", f"/api/v1/accounts/{account.pk}/", baselines.account_detail(user, account.pk), {}),
        ("API opportunity list", "/api/v1/opportunities/", baselines.opportunity_page(user), {}),
        ("API opportunity detail", f"/api/v1/opportunities/{opportunity.pk}/",
         baselines.opportunity_detail(user, opportunity.pk), {}),
    ]


GROUP_OPS = {"list": list_ops, "detail": detail_ops, "search": search_ops, "api": api_ops}


def context() -> dict:
    skewed = Account.objects.filter(external_id=SKEW_ACCOUNT_EXT).first()
    if skewed is None:
        raise SystemExit("No generated data here: run `kamcrm generate --scale S` first.")
    normal = Account.objects.filter(owner_id=skewed.owner_id, parent__isnull=True).exclude(pk=skewed.pk) \
        .order_by("id").first()
    users = {p: User.objects.get(username=u or skewed.owner.username) for p, u in PERSONAS.items()}
    return {"skewed": skewed, "normal": normal, "users": users, "accounts": Account.objects.count()}


def database_settings() -> dict:
    if connection.vendor == "postgresql":
        names = ["server_version", "shared_buffers", "work_mem", "effective_cache_size", "maintenance_work_mem",
                 "random_page_cost", "max_parallel_workers_per_gather", "jit", "synchronous_commit"]
        with connection.cursor() as cursor:
            out = {}
            for name in names:
                cursor.execute(f"SHOW {name}")
                out[name] = cursor.fetchone()[0]
            return out
    with connection.cursor() as cursor:
        out = {"sqlite_version": cursor.execute("select sqlite_version()").fetchone()[0]}
        for name in ("journal_mode", "synchronous", "cache_size", "mmap_size"):
            row = cursor.execute(f"PRAGMA {name}").fetchone()
            out[name] = row[0] if row else None  # an in-memory database (the tests') has no mmap_size
        return out


def measure(ctx: dict, groups: list[str], args) -> list[dict]:  # noqa: ANN001
    rows = []
    for persona, user in ctx["users"].items():
        share = visible(Account.objects.all(), user).count() / ctx["accounts"]
        client = Client()
        client.force_login(user)
        for group in groups:
            for label, url, sql, meta in GROUP_OPS[group](ctx, user, client, args):
                page = run_page(client, url, args.reps)
                base = run_sql(sql, args.reps)
                row = {"group": group, "operation": label, "persona": persona, "visible_share": round(share, 4),
                       "url": url, **meta, "page": page, "baseline": base,
                       "p95_ratio": round(page["p95_ms"] / max(base["p95_ms"], 0.001), 1),
                       "db_ratio": round(page["db_p50_ms"] / max(base["p50_ms"], 0.001), 1)}
                rows.append(row)
                print(f"{label:<42} {persona:<9} ({share:6.1%})  p50 {page['p50_ms']:7.1f}  p95 {page['p95_ms']:7.1f}  "
                      f"p99 {page['p99_ms']:7.1f}  cold {page['cold_ms']:7.1f} ms  cpu {page['cpu_p50_ms']:6.1f}  "
                      f"db {page['db_p50_ms']:6.1f} ms  "
                      f"{page['queries']:>2} q | SQL p50 {base['p50_ms']:6.2f} p95 {base['p95_ms']:6.2f} ms",
                      flush=True)
    return rows


def goals(rows: list[dict]) -> list[dict]:
    """The issue's goals, checked on this run's rows (latency goals are for S=1 on PostgreSQL and S=0.1
    on SQLite; the harness reports them at any scale)."""
    out = []

    def check(name: str, value: float, limit: float, unit: str = "") -> None:
        out.append({"goal": name, "value": round(value, 2), "limit": limit, "met": value <= limit, "unit": unit})

    by = {(r["operation"], r["persona"]): r for r in rows}
    for r in rows:
        p, b = r["page"], r["baseline"]
        if r["group"] == "list":
            check(f"{r['operation']} ({r['persona']}): p95", p["p95_ms"], 150, "ms")
            check(f"{r['operation']} ({r['persona']}): DB time ÷ hand SQL", p["db_p50_ms"] / max(b["p50_ms"], 1e-3), 2)
        if r["group"] == "detail":
            check(f"{r['operation']} ({r['persona']}): p95", p["p95_ms"], 200, "ms")
            check(f"{r['operation']} ({r['persona']}): queries", p["queries"], 20)
        if r["group"] == "search":
            check(f"{r['operation']} ({r['persona']}): p95", p["p95_ms"], 100, "ms")
    for persona in PERSONAS:
        first = by.get(("account list, filtered, page 1", persona))
        deep = next((r for (op, pe), r in by.items() if pe == persona and op.startswith("account list, filtered, ")
                     and op != "account list, filtered, page 1"), None)
        if first and deep:
            check(f"{deep['operation']} ÷ page 1 ({persona}), p95", deep["page"]["p95_ms"] / first["page"]["p95_ms"],
                  1.2)
        normal, skewed = by.get(("account 360, normal", persona)), by.get(("account 360, skewed", persona))
        if normal and skewed:
            check(f"account 360 skewed ÷ normal ({persona}), p95", skewed["page"]["p95_ms"] / normal["page"]["p95_ms"],
                  2)
    for op in ("account list, page 1", "account list, filtered, page 1"):
        rep, exe = by.get((op, "rep")), by.get((op, "executive"))
        if rep and exe:
            check(f"{op}: rep ÷ executive, p95", rep["page"]["p95_ms"] / exe["page"]["p95_ms"], 1.5)
    return out


def print_table(results: dict) -> None:
    print()
    print("| operation | user (visible) | p50 ms | p95 ms | p99 ms | cold ms | CPU ms (p50) | DB ms (p50) | queries | "
          "SQL p50 ms | SQL p95 ms | page ÷ SQL (p95) | DB ÷ SQL (p50) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results["operations"]:
        p, b = r["page"], r["baseline"]
        print(f"| {r['operation']} | {r['persona']} ({r['visible_share']:.1%}) | {p['p50_ms']} | {p['p95_ms']} | "
              f"{p['p99_ms']} | {p['cold_ms']} | {p['cpu_p50_ms']} | {p['db_p50_ms']} | {p['queries']} | {b['p50_ms']} | {b['p95_ms']} | "
              f"{r['p95_ratio']}× | {r['db_ratio']}× |")
    for extra in ("serve", "interference"):
        if results.get(extra):
            print(f"\n{extra}: {json.dumps(results[extra], ensure_ascii=False)}")
    print("\n| goal | value | limit | met |\n|---|---:|---:|---|")
    for g in results["goals"]:
        print(f"| {g['goal']} | {g['value']}{g['unit'] and ' ' + g['unit']} | {g['limit']} | "
              f"{'yes' if g['met'] else '**no**'} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--groups", default=",".join(GROUPS), help=f"comma-separated, of {', '.join(GROUPS)}")
    parser.add_argument("--follow", type=int, default=2,
                        help="follow the list view's own next links this many times to check the page-1,000 "
                             "cursor (999 checks it all the way; 0 skips)")
    parser.add_argument("--serve", action="store_true", help="also measure requests/s under gunicorn")
    parser.add_argument("--serve-seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--clients", type=int, default=8, help="concurrent connections of the load generator")
    parser.add_argument("--interfere", action="store_true",
                        help="also measure the list's p95 while an import and the fact refresh run")
    parser.add_argument("--import-rows", type=int, default=20_000)
    parser.add_argument("--interfere-reps", type=int, default=60)
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    settings.SECURE_SSL_REDIRECT = False  # the test client speaks plain HTTP
    groups = [g for g in args.groups.split(",") if g]
    unknown = set(groups) - set(GROUPS)
    if unknown:
        raise SystemExit(f"unknown group(s): {', '.join(sorted(unknown))}")

    ctx = context()
    results = {"database": connection.vendor, "settings": database_settings(), "accounts": ctx["accounts"],
               "contacts": Contact.objects.count(), "reps": args.reps,
               "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "machine": platform.platform(),
               "cpus": os.cpu_count(), "load_average": os.getloadavg(), "python": sys.version.split()[0],
               "operations": []}
    results["operations"] = measure(ctx, groups, args)
    if args.serve:
        from bench.serve import serve_bench

        results["serve"] = serve_bench(ctx, args)
    if args.interfere:
        from bench.interfere import interference_bench

        results["interference"] = interference_bench(ctx, args, run_page)
    results["goals"] = goals(results["operations"])
    results["load_average_end"] = os.getloadavg()
    out = Path(args.out) if args.out else \
        ROOT / "bench" / "results" / f"scale-{connection.vendor}-{dt.date.today().isoformat()}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    print_table(results)
    print(f"\nWritten to {out}")


if __name__ == "__main__":
    main()

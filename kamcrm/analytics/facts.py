"""Keeping the revenue facts current (see analytics/models.py).

`facts_refresh(account_ids, months)` recomputes the account-grain rows of those accounts (and months)
from the sources — current revenue slices, invoices, payments — replaces them, and adds the difference
to the roll-up rows. The services call it inside the transaction that changes a source, so the facts
are never behind what a user sees. `facts_rebuild()` recomputes everything (after a bulk load, or to
repair); `facts_direct()` is the direct sum the tests and the benchmark compare the facts with.
"""
from __future__ import annotations

import datetime as dt
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import F, Q, Sum
from django.db.models.functions import TruncMonth

from kamcrm.analytics.models import RevenueFact, RevenueRollup

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
MEASURES = ("expected", "billed", "collected", "recognised")
Key = tuple[int, int | None, dt.date]  # account, product line, month


def _month(value) -> dt.date:
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    return value.replace(day=1)


def _cents(value) -> Decimal:
    """Sums come back from SQLite through floating point: back to exact cents (exact below 10^13)."""
    return Decimal(str(value or 0)).quantize(CENT)


def facts_direct(account_ids: Iterable[int] | None = None, months: Iterable[dt.date] | None = None,
                 measures: Iterable[str] = MEASURES) -> dict[Key, dict[str, Decimal]]:
    """(account, product line, month) → expected, billed, collected, summed straight from the sources
    (only the sources of `measures`; the others are left at zero)."""
    measures = set(measures)
    from kamcrm.agreements.models import RevenueRecognition, RevenueSlice
    from kamcrm.receivables.choices import InvoiceStatus
    from kamcrm.receivables.models import Invoice, Payment

    months = sorted({_month(m) for m in months}) if months is not None else None
    ids = list(account_ids) if account_ids is not None else None
    out: dict[Key, dict[str, Decimal]] = defaultdict(lambda: dict.fromkeys(MEASURES, ZERO))

    slices = RevenueSlice.objects.filter(superseded_at__isnull=True)
    recognitions = RevenueRecognition.objects.all()
    invoices = Invoice.objects.exclude(status=InvoiceStatus.VOID)
    payments = Payment.objects.all()
    if ids is not None:
        slices = slices.filter(agreement__account_id__in=ids)
        recognitions = recognitions.filter(agreement__account_id__in=ids)
        invoices = invoices.filter(account_id__in=ids)
        payments = payments.filter(account_id__in=ids)
    if months is not None:
        slices = slices.filter(month__in=months)
        recognitions = recognitions.filter(month__in=months)
        end = (months[-1].replace(day=28) + dt.timedelta(days=4)).replace(day=1) if months else None
        span = Q(invoice_date__gte=months[0], invoice_date__lt=end) if months else Q(pk__in=[])
        invoices = invoices.filter(span)
        payments = payments.filter(Q(received_on__gte=months[0], received_on__lt=end) if months else Q(pk__in=[]))
    wanted = set(months) if months is not None else None
    if "expected" not in measures:
        slices = slices.none()
    if "billed" not in measures:
        invoices = invoices.none()
    if "collected" not in measures:
        payments = payments.none()
    if "recognised" not in measures:
        recognitions = recognitions.none()
    for row in (slices.values(a=F("agreement__account_id"), pl=F("line__product__line_id"), m=F("month"))
                .annotate(v=Sum("amount")).order_by()):
        out[(row["a"], row["pl"], _month(row["m"]))]["expected"] += _cents(row["v"])
    for row in (invoices.values(a=F("account_id"), pl=F("product_line_id"), m=TruncMonth("invoice_date"))
                .annotate(v=Sum("amount")).order_by()):
        month = _month(row["m"])
        if wanted is None or month in wanted:
            out[(row["a"], row["pl"], month)]["billed"] += _cents(row["v"])
    for row in (recognitions.values(a=F("agreement__account_id"), pl=F("line__product__line_id"), m=F("month"))
                .annotate(v=Sum("amount")).order_by()):
        out[(row["a"], row["pl"], _month(row["m"]))]["recognised"] += _cents(row["v"])
    for row in payments.values(a=F("account_id"), m=TruncMonth("received_on")).annotate(v=Sum("amount")).order_by():
        month = _month(row["m"])
        if wanted is None or month in wanted:
            out[(row["a"], None, month)]["collected"] += _cents(row["v"])
    return {k: v for k, v in out.items() if any(v.values())}


def _owners(account_ids: list[int]):
    """account → function(month) → (owner id, owner unit id, region id), from the ownership history."""
    from kamcrm.customers.models import Account, AccountOwnership

    current = {a["id"]: a for a in Account.objects.filter(pk__in=account_ids)
               .values("id", "owner_id", "owner_unit_id", "region_id")}
    periods: dict[int, list] = defaultdict(list)
    for row in (AccountOwnership.objects.filter(account_id__in=account_ids)
                .values("account_id", "owner_id", "owner_unit_id", "valid_from", "valid_to")):
        periods[row["account_id"]].append(row)

    def owner_of(account_id: int, month: dt.date) -> tuple[int, int, int]:
        account = current[account_id]
        for period in periods.get(account_id, ()):
            if period["valid_from"] <= month and (period["valid_to"] is None or period["valid_to"] >= month):
                return period["owner_id"], period["owner_unit_id"], account["region_id"]
        return account["owner_id"], account["owner_unit_id"], account["region_id"]

    return owner_of


_deferred = threading.local()


@contextmanager
def facts_deferred() -> Iterator[set[int]]:
    """Bulk paths (demo, imports of many rows): inside the block, facts_refresh only notes the accounts;
    at the end each of them is refreshed once, in the caller's transaction."""
    outer = getattr(_deferred, "ids", None)
    if outer is not None:  # nested: the outermost block refreshes
        yield outer
        return
    _deferred.ids = ids = set()
    try:
        yield ids
    finally:
        _deferred.ids = None
    for start in range(0, len(ids), 2000):
        facts_refresh(sorted(ids)[start:start + 2000])


@transaction.atomic
def facts_refresh(account_ids: Iterable[int], months: Iterable[dt.date] | None = None,
                  measures: Iterable[str] = MEASURES) -> int:
    """Recompute the facts of these accounts (in these months, or all), keep the roll-ups in step.
    `measures`: the ones whose sources changed (a schedule change: expected only); the others are
    carried over from the rows being replaced. Returns the number of account-grain rows written (0
    inside facts_deferred(): done at its end)."""
    pending = getattr(_deferred, "ids", None)
    if pending is not None:
        pending.update(account_ids)
        return 0
    ids = sorted(set(account_ids))
    if not ids:
        return 0
    month_list = sorted({_month(m) for m in months}) if months is not None else None
    measures = tuple(m for m in MEASURES if m in set(measures))
    fresh = facts_direct(ids, month_list, measures)
    owner_of = _owners(ids)
    old = RevenueFact.objects.filter(account_id__in=ids)
    if month_list is not None:
        old = old.filter(month__in=month_list)
    carried = [m for m in MEASURES if m not in measures]
    deltas: dict[tuple, dict[str, Decimal]] = defaultdict(lambda: dict.fromkeys(MEASURES, ZERO))
    before: dict[Key, tuple] = {}  # (account, line, month) → (pk, owner, unit, region, values)
    for row in old.values("pk", "account_id", "month", "product_line_id", "owner_id", "owner_unit_id", "region_id",
                          *MEASURES):
        values = {m: _cents(row[m]) for m in MEASURES}
        key = (row["month"], row["product_line_id"], row["owner_id"], row["owner_unit_id"], row["region_id"])
        for m in MEASURES:
            deltas[key][m] -= values[m]
        fact_key = (row["account_id"], row["product_line_id"], row["month"])
        before[fact_key] = (row["pk"], row["owner_id"], row["owner_unit_id"], row["region_id"], values)
        if carried and any(values[m] for m in carried):
            target = fresh.setdefault(fact_key, dict.fromkeys(MEASURES, ZERO))
            for m in carried:
                target[m] = values[m]
    # Write only what changed: rows kept with the same dimensions are updated in place (no index to
    # maintain but the primary key's), new ones inserted, vanished ones deleted.
    created, updated, kept = [], [], set()
    for fact_key, values in fresh.items():
        if not any(values.values()):
            continue
        account_id, line_id, month = fact_key
        owner_id, unit_id, region_id = owner_of(account_id, month)
        key = (month, line_id, owner_id, unit_id, region_id)
        for m in MEASURES:
            deltas[key][m] += values[m]
        old_row = before.get(fact_key)
        if old_row is not None and old_row[1:4] == (owner_id, unit_id, region_id):
            kept.add(old_row[0])
            if old_row[4] != values:
                updated.append((*(values[m] for m in MEASURES), old_row[0]))
            continue
        created.append(RevenueFact(month=month, account_id=account_id, product_line_id=line_id, owner_id=owner_id,
                                   owner_unit_id=unit_id, region_id=region_id, **values))
    gone = [row[0] for row in before.values() if row[0] not in kept]
    if gone:
        RevenueFact.objects.filter(pk__in=gone).delete()
    if updated:
        _update_measures("analytics_revenuefact", updated)
    RevenueFact.objects.bulk_create(created, batch_size=2000)
    _apply(deltas)
    return len(created) + len(updated)


def _apply(deltas: dict[tuple, dict[str, Decimal]]) -> None:
    """Add each delta to its roll-up row, creating the rows that are missing: the existing rows are
    read under a row lock (SELECT … FOR UPDATE), so concurrent refreshes of accounts that share a
    roll-up row add up instead of overwriting each other; then the UPDATEs and one bulk INSERT."""
    deltas = {k: v for k, v in deltas.items() if any(v.values())}
    if not deltas:
        return
    # Narrow by every key column (a superset of the keys, near exact), as plain tuples, under lock.
    lines = {k[1] for k in deltas}
    match = RevenueRollup.objects.filter(month__in={k[0] for k in deltas}, owner_id__in={k[2] for k in deltas},
                                         owner_unit_id__in={k[3] for k in deltas},
                                         region_id__in={k[4] for k in deltas})
    if None in lines:
        match = match.filter(Q(product_line_id__in=lines - {None}) | Q(product_line_id__isnull=True))
    else:
        match = match.filter(product_line_id__in=lines)
    existing: dict[tuple, tuple] = {}
    for pk, month, line_id, owner_id, unit_id, region_id, *values in (
            match.select_for_update().order_by("pk").values_list(
                "pk", "month", "product_line_id", "owner_id", "owner_unit_id", "region_id", *MEASURES)):
        existing.setdefault((month, line_id, owner_id, unit_id, region_id), (pk, values))
    changed, created = [], []
    for key, delta in deltas.items():
        found = existing.get(key)
        if found is None:
            month, line_id, owner_id, unit_id, region_id = key
            created.append(RevenueRollup(month=month, product_line_id=line_id, owner_id=owner_id, owner_unit_id=unit_id,
                                         region_id=region_id, **delta))
            continue
        pk, values = found
        changed.append((*(_cents(v) + delta[m] for v, m in zip(values, MEASURES, strict=True)), pk))
    if changed:
        _update_measures("analytics_revenuerollup", changed)
    RevenueRollup.objects.bulk_create(created, batch_size=2000)


def _update_measures(table: str, rows: list[tuple]) -> None:
    """Set the measures of these rows: (expected, billed, collected, recognised, id) each. On PostgreSQL one
    UPDATE … FROM (VALUES …) — a round trip costs more than the update of a few dozen rows; on SQLite
    (in process, no round trip) one parameterised UPDATE per row. bulk_update's CASE per row and field
    costs far more in Python than either."""
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.executemany(f"UPDATE {table} SET expected = %s, billed = %s, collected = %s, recognised = %s "
                               "WHERE id = %s", rows)
            return
        for start in range(0, len(rows), 1000):
            chunk = rows[start:start + 1000]
            values = ", ".join(["(%s::numeric, %s::numeric, %s::numeric, %s::numeric, %s::bigint)"] * len(chunk))
            cursor.execute(
                f"UPDATE {table} AS t SET expected = v.e, billed = v.b, collected = v.c, recognised = v.r "
                f"FROM (VALUES {values}) AS v(e, b, c, r, id) WHERE t.id = v.id",
                [value for row in chunk for value in row])


@transaction.atomic
def facts_rebuild() -> int:
    """Everything from scratch: both grains. For bulk loads and repair; the services never need it."""
    RevenueFact.objects.all().delete()
    RevenueRollup.objects.all().delete()
    from kamcrm.customers.models import Account

    written = 0
    ids = list(Account.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), 5000):
        written += facts_refresh(ids[start:start + 5000])
    return written


def facts_rebuild_sql(*, accounts_per_statement: int = 50_000, fk_checks: bool = True) -> int:
    """Both grains from scratch, set-based (bulk loads: the scale generator): the account grain in one
    INSERT … SELECT per range of account ids (so that each GROUP BY stays in memory: at 1M agreements
    the account grain is nearly as many rows as the slices, and one statement over all of them spilled
    to disk for most of an hour), then the roll-ups from it in one statement. The owner, unit and region
    are the accounts' current ones; accounts with an ownership history are then refreshed one by one
    through facts_refresh, which reads that history. Returns the fact rows.

    fk_checks=False (PostgreSQL, a superuser, as `kamcrm generate_revenue --no-fk-checks`): the rows
    are derived from rows that exist, so the deferred foreign-key checks — five per fact row, run at
    COMMIT, longer than the inserts themselves at 37M rows — are skipped for this transaction."""
    from kamcrm.customers.models import AccountOwnership

    month_of_invoice = ("date_trunc('month', i.invoice_date)::date" if connection.vendor == "postgresql"
                        else "date(i.invoice_date, 'start of month')")
    month_of_payment = month_of_invoice.replace("i.invoice_date", "p.received_on")
    with connection.cursor() as cursor:
        # The sources were just bulk-loaded: without fresh statistics the planner takes each range for a
        # handful of rows and rescans every slice for it.
        for table in ("agreements_agreement", "agreements_agreementline", "agreements_revenueslice",
                      "agreements_revenuerecognition", "receivables_invoice", "receivables_payment"):
            cursor.execute(f"ANALYZE {table}")
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL work_mem = '256MB'")
            if not fk_checks:
                cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("DELETE FROM analytics_revenuerollup")
        cursor.execute("DELETE FROM analytics_revenuefact")
        cursor.execute("SELECT MIN(id), MAX(id) FROM customers_account")
        low, high = cursor.fetchone()
        written = 0
        for start in range(low or 0, (high or -1) + 1, accounts_per_statement):
            bounds = [start, start + accounts_per_statement - 1]
            cursor.execute(f"""
                INSERT INTO analytics_revenuefact (month, account_id, product_line_id, owner_id, owner_unit_id,
                                                   region_id, expected, billed, collected, recognised)
                SELECT src.month, a.id, src.line_id, a.owner_id, a.owner_unit_id, a.region_id,
                       SUM(src.expected), SUM(src.billed), SUM(src.collected), SUM(src.recognised)
                FROM (
                    SELECT g.account_id, s.month, p.line_id, s.amount AS expected, 0 AS billed, 0 AS collected,
                           0 AS recognised
                    FROM agreements_revenueslice s
                    JOIN agreements_agreement g ON g.id = s.agreement_id
                    JOIN agreements_agreementline l ON l.id = s.line_id
                    JOIN products_product p ON p.id = l.product_id
                    WHERE s.superseded_at IS NULL AND g.account_id BETWEEN %s AND %s
                    UNION ALL
                    SELECT i.account_id, {month_of_invoice}, i.product_line_id, 0, i.amount, 0, 0
                    FROM receivables_invoice i WHERE i.status <> 'void' AND i.account_id BETWEEN %s AND %s
                    UNION ALL
                    SELECT p.account_id, {month_of_payment}, NULL, 0, 0, p.amount, 0
                    FROM receivables_payment p WHERE p.account_id BETWEEN %s AND %s
                    UNION ALL
                    SELECT g.account_id, r.month, p.line_id, 0, 0, 0, r.amount
                    FROM agreements_revenuerecognition r
                    JOIN agreements_agreement g ON g.id = r.agreement_id
                    JOIN agreements_agreementline l ON l.id = r.line_id
                    JOIN products_product p ON p.id = l.product_id
                    WHERE g.account_id BETWEEN %s AND %s
                ) src
                JOIN customers_account a ON a.id = src.account_id
                GROUP BY src.month, a.id, src.line_id, a.owner_id, a.owner_unit_id, a.region_id""", bounds * 4)
            written += cursor.rowcount
        cursor.execute("""
            INSERT INTO analytics_revenuerollup (month, product_line_id, owner_id, owner_unit_id, region_id,
                                                 expected, billed, collected, recognised)
            SELECT month, product_line_id, owner_id, owner_unit_id, region_id, SUM(expected), SUM(billed),
                   SUM(collected), SUM(recognised)
            FROM analytics_revenuefact
            GROUP BY month, product_line_id, owner_id, owner_unit_id, region_id""")
    with_history = list(AccountOwnership.objects.values_list("account_id", flat=True).distinct())
    for start in range(0, len(with_history), 2000):
        facts_refresh(with_history[start:start + 2000])
    return written


def rollup_totals() -> dict[tuple, dict[str, Decimal]]:
    """The roll-ups summed per (month, product line, owner, unit, region): what reports see."""
    out: dict[tuple, dict[str, Decimal]] = {}
    for row in (RevenueRollup.objects.values("month", "product_line_id", "owner_id", "owner_unit_id", "region_id")
                .annotate(**{m: Sum(m) for m in MEASURES}).order_by()):
        values = {m: _cents(row[m]) for m in MEASURES}
        if any(values.values()):
            out[(row["month"], row["product_line_id"], row["owner_id"], row["owner_unit_id"], row["region_id"])] = values
    return out

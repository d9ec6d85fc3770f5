"""The scale data set's agreements and their revenue schedules (issue 5's benchmark, issue 7's data set).

At scale S: 1,000,000·S agreements (one per account on average, spread with the accounts' skew), each
with one line (10 % with two) of a product on sale, 12–60 months long, started over the last three
years; 85 % straight-line by month, 15 % pro-rated by day from a mid-month start. Statuses follow the
dates: active while running, expired after the end, signed when the start is still ahead. Each line's
slices come from agreements.schedule.split — the same rule the services use — so every line's slices
add up to its value to the cent; version 1, recorded at the signing time. One "signed" change row per
agreement. Then the revenue facts are rebuilt set-based (analytics.facts.facts_rebuild_sql).

Not generated (yet): invoices and payments, timeline entries for the agreements, audit rows.

Runs as a step of `kamcrm generate` (STEPS) or on its own over an existing scale data set:
`kamcrm generate_revenue --scale S` (it reads the accounts, owners and products back from the database).
"""
from __future__ import annotations

import calendar
import datetime as dt
import random
import time
from array import array
from decimal import Decimal

from django.conf import settings

from kamcrm.agreements.choices import (
    AgreementStatus,
    AgreementType,
    BillingCycle,
    ChangeKind,
    Remainder,
    Rule,
)
from kamcrm.agreements.models import Agreement, AgreementChange, AgreementLine, RevenueSlice
from kamcrm.agreements.schedule import Terms, split
from kamcrm.customers.models import Account
from kamcrm.products.choices import ProductStatus
from kamcrm.products.models import Product
from kamcrm.scale.loader import Loader, Progress, analyze_after_load, restore_pending_indexes

SOURCE = "scale"
AGREEMENT_COLUMNS = ["id", "account_id", "number", "title", "type", "status", "owner_id", "signing_unit_id",
                     "start_date", "end_date", "signed_on", "currency", "total_value", "partner", "renewal_notice_days",
                     "status_since", "notes", "created_at", "updated_at", "source_system", "external_id"]
LINE_COLUMNS = ["id", "agreement_id", "product_id", "quantity", "unit_price", "amount", "billing_cycle", "rule",
                "remainder", "start_date", "end_date", "milestones", "version"]
SLICE_COLUMNS = ["id", "line_id", "agreement_id", "month", "amount", "version", "recorded_at"]
CHANGE_COLUMNS = ["id", "agreement_id", "kind", "effective_date", "recorded_at", "note", "value_before", "value_after"]
TITLES = ["互联网专线服务协议", "5G 专网服务协议", "云资源租用协议", "IDC 机柜租用协议", "集团信息化框架协议",
          "视频监控集成项目协议"]
TYPES = [AgreementType.SERVICE, AgreementType.SERVICE, AgreementType.SERVICE, AgreementType.SERVICE,
         AgreementType.FRAMEWORK, AgreementType.PROJECT]


def agreements_for(scale: float) -> int:
    return max(50, round(1_000_000 * scale))


def _add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    return day.replace(year=day.year + month // 12, month=month % 12 + 1)


def build_agreements(*, loader: Loader, count: int, seed: int, today: dt.date, account_ids: array,
                     acct_owner: array, acct_unit: array, products: list[tuple[int, Decimal]],
                     ts) -> dict[str, int]:  # noqa: ANN001
    """Write `count` agreements with lines, slices and a signed change through `loader`."""
    rnd = random.Random(f"kamcrm-scale:{seed}:agreements")
    randrange, random_ = rnd.randrange, rnd.random
    agr_w = loader.table(Agreement, AGREEMENT_COLUMNS, planned=count, label="agreements")
    line_w = loader.table(AgreementLine, LINE_COLUMNS, planned=round(count * 1.1), label="agreement lines")
    slice_w = loader.table(RevenueSlice, SLICE_COLUMNS, planned=round(count * 1.1 * 36), label="revenue slices")
    change_w = loader.table(AgreementChange, CHANGE_COLUMNS, planned=count, label="agreement changes")
    aid, lid, sid, cid = (Loader.next_id(m) for m in (Agreement, AgreementLine, RevenueSlice, AgreementChange))
    n_accounts = len(account_ids)
    month0 = today.replace(day=1)
    agreements, lines, slices, changes = [], [], [], []
    n_slices = 0
    for k in range(count):
        idx = randrange(n_accounts)
        account_id, owner, unit = account_ids[idx], acct_owner[idx], acct_unit[idx]
        months = 12 + randrange(49)  # 12–60
        start = _add_months(month0, -randrange(36))
        daily = random_() < 0.15
        if daily:
            start = start.replace(day=15)
        end = _add_months(start, months) - dt.timedelta(days=1)
        status = (AgreementStatus.SIGNED if start > today else
                  AgreementStatus.EXPIRED if end < today else AgreementStatus.ACTIVE)
        signed = start - dt.timedelta(days=randrange(3, 30))
        recorded = ts(calendar.timegm(signed.timetuple()) + 7_200)
        total = Decimal(0)
        for product_id, price in rnd.sample(products, 2 if random_() < 0.1 else 1):
            quantity = randrange(1, 9)
            unit_price = (price * Decimal(randrange(80, 101)) / 100).quantize(Decimal("0.01"))
            amount = unit_price * quantity * months
            rule = Rule.DAILY if daily else Rule.MONTHLY
            total += amount
            lines.append((lid, aid, product_id, f"{quantity * months}.00", str(unit_price), str(amount),
                          BillingCycle.MONTHLY, rule, Remainder.LAST, start.isoformat(), end.isoformat(), "[]", 1))
            for month, value in split(Terms(amount=amount, start=start, end=end, rule=rule)).items():
                slices.append((sid, lid, aid, month.isoformat(), str(value), 1, recorded))
                sid += 1
            lid += 1
        agreements.append((aid, account_id, f"SC-HT-{aid:08d}", TITLES[k % len(TITLES)], TYPES[k % len(TYPES)], status,
                           owner, unit, start.isoformat(), end.isoformat(), signed.isoformat(), settings.CURRENCY,
                           str(total), "", 60, (start if status != AgreementStatus.SIGNED else signed).isoformat(), "",
                           recorded, recorded, SOURCE, ""))
        changes.append((cid, aid, ChangeKind.SIGNED, start.isoformat(), recorded, "", "0", str(total)))
        aid += 1
        cid += 1
        if len(agreements) >= loader.chunk // 8 or k == count - 1:
            agr_w.write(agreements)
            for w, rows in ((line_w, lines), (slice_w, slices), (change_w, changes)):
                w.pause()
                w.write(rows)
            agr_w.pause()
            n_slices += len(slices)
            agreements, lines, slices, changes = [], [], [], []
    return {"agreements": count, "slices": n_slices}


def generate_revenue(*, scale: float, seed: int = 1, today: dt.date | None = None, chunk: int = 50_000,
                     progress: Progress | None = None, facts: bool = True, fk_checks: bool = True) -> dict:
    """The agreements of the scale data set, over the accounts already in the database."""
    from kamcrm.analytics.facts import facts_rebuild_sql

    restore_pending_indexes()  # a killed earlier run's dropped indexes come back first
    today = today or dt.date.today()
    account_ids, acct_owner, acct_unit = array("q"), array("q"), array("q")
    for pk, owner, unit in Account.objects.order_by("pk").values_list("pk", "owner_id", "owner_unit_id").iterator(
            chunk_size=20_000):
        account_ids.append(pk)
        acct_owner.append(owner)
        acct_unit.append(unit)
    if not account_ids:
        raise RuntimeError("No accounts: run `kamcrm generate --scale S` first.")
    products = list(Product.objects.filter(status=ProductStatus.ACTIVE, list_price__gt=0).order_by("pk")
                    .values_list("pk", "list_price"))
    if not products:
        raise RuntimeError("No product on sale.")
    loader = Loader(chunk=chunk, progress=progress, fk_checks=fk_checks)
    started = time.perf_counter()
    loader.start()
    try:
        loader.defer_indexes([AgreementLine, RevenueSlice, AgreementChange])
        made = build_agreements(loader=loader, count=agreements_for(scale), seed=seed, today=today,
                                account_ids=account_ids, acct_owner=acct_owner, acct_unit=acct_unit, products=products, ts=loader.ts_format())
    finally:
        loader.finish()
    load_seconds = time.perf_counter() - started
    fact_seconds = 0.0
    if facts:
        t0 = time.perf_counter()
        made["facts"] = facts_rebuild_sql(fk_checks=fk_checks)
        fact_seconds = time.perf_counter() - t0
    analyze_after_load()
    return {**made, "load_seconds": round(load_seconds, 2), "index_seconds": round(loader.index_seconds, 2),
            "facts_seconds": round(fact_seconds, 2), "tables": [t.as_dict() for t in loader.stats.values()]}

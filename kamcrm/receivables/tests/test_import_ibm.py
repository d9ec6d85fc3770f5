"""Acceptance: IBM's Accounts Receivable sample (../shared/datasets/ibm_accounts_receivable, SOURCE.md)
imported through the shipped mapping and the CLI gives the data set's headline figures from the
product's selectors; the aging on a day inside the data equals a direct computation from the CSV;
importing again adds nothing."""
from __future__ import annotations

import csv
import datetime as dt
import io
import time
from collections import defaultdict
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import Sum

from conftest import shared_datasets
from kamcrm.analytics.facts import facts_direct, rollup_totals
from kamcrm.analytics.models import RevenueFact
from kamcrm.customers.models import Account
from kamcrm.exchange.models import ImportJob, ImportStatus
from kamcrm.receivables import selectors
from kamcrm.receivables.choices import AGING_BUCKETS
from kamcrm.receivables.models import Invoice, Payment, PaymentAllocation

DATA = shared_datasets() / "ibm_accounts_receivable" / "WA_Fn-UseC_-Accounts-Receivable.csv"
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not DATA.exists(), reason="SKIPPED: IBM accounts receivable data set not on this machine"),
]
AS_OF = dt.date(2013, 6, 30)


@pytest.fixture(autouse=True)
def _import_dir(settings, tmp_path):
    settings.KAMCRM_IMPORT_DIR = tmp_path
    settings.KAMCRM_IMPORT_BATCH_SIZE = 1000


def _import() -> tuple[ImportJob, str, float]:
    out = io.StringIO()
    started = time.monotonic()
    call_command("import_data", str(DATA), "--mapping", "ibm-receivables", "--set", "region=HQ", "--set", "owner=admin",
                 stdout=out, stderr=io.StringIO())
    return ImportJob.objects.order_by("-id").first(), out.getvalue(), time.monotonic() - started


def _d(text: str) -> dt.date:
    return dt.datetime.strptime(text, "%m/%d/%Y").date()


def _csv_aging(as_of: dt.date) -> dict[str, tuple[int, Decimal]]:
    """Straight from the file: invoices issued by `as_of` and settled after it, by days past due then."""
    out: dict[str, list] = defaultdict(lambda: [0, Decimal("0")])
    with DATA.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if _d(row["InvoiceDate"]) <= as_of < _d(row["SettledDate"]):
                late = (as_of - _d(row["DueDate"])).days
                for code, _label, lowest, highest in AGING_BUCKETS:
                    if (lowest is None or late >= lowest) and (highest is None or late <= highest):
                        out[code][0] += 1
                        out[code][1] += Decimal(row["InvoiceAmount"])
                        break
    return {code: (n, amount) for code, (n, amount) in out.items()}


def test_ibm_receivables(org):
    """One import (about ten seconds of CPU on SQLite) checked every way, then imported again."""
    call_command("import_mapping", "builtin", stdout=io.StringIO())
    job, output, seconds = _import()
    check_headline_figures(org, job, output, seconds)
    for as_of in (AS_OF, dt.date(2012, 12, 31), dt.date(2013, 1, 31), dt.date(2014, 1, 9)):
        check_aging_equals_the_file(org, as_of)
    check_dso_matches_a_direct_computation(org)
    check_reimport_adds_nothing()


def check_headline_figures(org, job, output, seconds) -> None:
    assert (job.status, job.total_rows, job.bad_rows) == (ImportStatus.DONE, 2466, 0), (
        output, list(job.row_errors.values_list("line", "column", "message")[:5]))
    assert job.counts["1"] == {"created": 2466} and job.counts["2"] == {"created": 2466}
    assert job.counts["0"]["created"] == 100
    assert seconds < 120, f"the import took {seconds:.1f} s"

    invoices = Invoice.objects.filter(source_system="ibm-ar")
    assert invoices.count() == 2466
    assert Account.objects.filter(source_system="ibm-ar").count() == 100
    assert invoices.aggregate(s=Sum("amount"))["s"] == Decimal("147703.18")
    assert invoices.get(number="0000611365").external_id == "0000611365"  # leading zeros kept
    assert set(invoices.values_list("status", flat=True)) == {"paid"}
    assert Payment.objects.count() == PaymentAllocation.objects.count() == 2466
    assert not Payment.objects.exclude(allocated=models_amount()).exists()

    stats = selectors.paid_late(user=org.admin)
    assert stats.settled == 2466
    assert stats.late == 877
    assert stats.late_share == Decimal("0.3556")
    assert stats.late_amount == Decimal("53960.78")
    assert stats.avg_days_late == Decimal("3.4424")
    assert stats.avg_days_late_when_late == Decimal("9.6796")
    assert stats.max_days_late == 45
    assert stats.avg_days_to_settle == Decimal("26.4448")
    assert (stats.disputed.count, stats.undisputed.count) == (561, 1905)
    assert (stats.disputed.avg_days_late, stats.undisputed.avg_days_late) == (Decimal("8.5793"), Decimal("1.9297"))

    # The revenue facts were kept current batch by batch: billed = invoiced, collected = received.
    facts = RevenueFact.objects.aggregate(b=Sum("billed"), c=Sum("collected"))
    assert facts["b"] == facts["c"] == Decimal("147703.18")
    direct = facts_direct()
    assert {(k[0], k[2]): v for k, v in direct.items()} == {
        (f.account_id, f.month): {"expected": f.expected, "billed": f.billed, "collected": f.collected, "recognised": f.recognised}
        for f in RevenueFact.objects.all()}
    assert sum(v["billed"] for v in rollup_totals().values()) == Decimal("147703.18")


def models_amount():
    from django.db.models import F

    return F("amount")


def check_aging_equals_the_file(org, as_of: dt.date) -> None:
    result = selectors.aging(user=org.admin, as_of=as_of, group_by="unit")
    expected = _csv_aging(as_of)
    got = {b.code: (b.count, b.amount) for b in result.totals.bucket_list if b.count}
    assert got == expected
    if as_of == AS_OF:
        assert sum(n for n, _a in expected.values()) > 50  # a day with plenty open, in several buckets
        assert len(expected) >= 2
    assert [r.total for r in result.rows] == ([result.totals.total] if result.totals.count else [])
    # the drill-down lists exactly the invoices behind each bucket
    for code, (n, amount) in expected.items():
        listed = selectors.invoice_filtered(user=org.admin, filters={"as_of": as_of.isoformat(), "bucket": code})
        assert listed.count() == n
        assert sum((i.total for i in listed), Decimal("0")) == amount


def check_dso_matches_a_direct_computation(org) -> None:
    result = selectors.dso(user=org.admin, as_of=AS_OF, days=90)
    open_amount = sum(amount for _n, amount in _csv_aging(AS_OF).values())
    with DATA.open(encoding="utf-8", newline="") as fh:
        billed = sum(Decimal(r["InvoiceAmount"]) for r in csv.DictReader(fh)
                     if AS_OF - dt.timedelta(days=90) < _d(r["InvoiceDate"]) <= AS_OF)
    assert (result.receivables, result.billed) == (open_amount, billed)
    assert result.value == (open_amount / billed * 90).quantize(Decimal("0.1"))


def check_reimport_adds_nothing() -> None:
    before = (Invoice.objects.count(), Payment.objects.count(), PaymentAllocation.objects.count(),
              Account.objects.count(), RevenueFact.objects.aggregate(s=Sum("billed"))["s"])
    job, output, _seconds = _import()
    assert (job.status, job.bad_rows) == (ImportStatus.DONE, 0), output
    assert job.counts["1"] == {"unchanged": 2466} and job.counts["2"] == {"unchanged": 2466}
    assert "created" not in job.counts["0"]
    assert (Invoice.objects.count(), Payment.objects.count(), PaymentAllocation.objects.count(),
            Account.objects.count(), RevenueFact.objects.aggregate(s=Sum("billed"))["s"]) == before

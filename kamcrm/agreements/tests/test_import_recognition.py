"""Recognised revenue through the import framework: one row per line and month, replacing the month's
figure (zero removes it), idempotent, with errors naming the row and column, and only on accounts the
importer may edit."""
from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal as D

import pytest

from kamcrm.agreements import services
from kamcrm.agreements.models import RevenueRecognition
from kamcrm.analytics.facts import facts_direct
from kamcrm.analytics.models import RevenueFact
from kamcrm.exchange.import_services import import_job_create
from kamcrm.exchange.importing import import_job_run
from kamcrm.exchange.models import ImportJob, ImportRowError, ImportStatus
from kamcrm.products import services as product_services

pytestmark = pytest.mark.django_db

COLUMNS = {"agreement": "协议编号", "product": "产品", "month": "月份", "amount": "确认收入"}
STEPS = [{"entity": "recognised-revenue", "fields": {name: {"column": column} for name, column in COLUMNS.items()}}]
HEAD = ",".join(COLUMNS.values())


@pytest.fixture(autouse=True)
def _import_dir(settings, tmp_path):
    settings.KAMCRM_IMPORT_DIR = tmp_path


@pytest.fixture
def agreements(org):
    line = product_services.product_line_create(code="IDC", name="数据中心")
    rack = product_services.product_create(line=line, code="IDC-RACK", name="机柜租用", list_price=D("5000"))
    bandwidth = product_services.product_create(line=line, code="IDC-BW", name="带宽", list_price=D("1000"))
    two_lines = services.agreement_create(account=org.acct, number="HT-1", title="机柜协议", owner=org.rep,
                                          start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 12, 31),
                                          lines=[{"product": rack, "amount": D("60000")},
                                                 {"product": bandwidth, "amount": D("12000")}])
    one_line = services.agreement_create(account=org.other, number="HT-9", title="西部协议", owner=org.outsider,
                                         start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 12, 31),
                                         lines=[{"product": rack, "amount": D("24000")}])
    for agreement in (two_lines, one_line):
        services.agreement_sign(agreement=agreement)
    return two_lines, one_line


def run(text: str, *, by) -> ImportJob:  # noqa: ANN001
    job = import_job_create(by=by, file=io.BytesIO(text.encode("utf-8")), file_name="recognised.csv", steps=STEPS,
                            source_system="finance", dry_run=False, enqueue=False)
    return import_job_run(job.pk)


def figures() -> dict[tuple[str, str, dt.date], D]:
    return {(r.agreement.number, r.line.product.code, r.month): r.amount
            for r in RevenueRecognition.objects.select_related("agreement", "line__product")}


def test_rows_record_replace_and_remove_and_the_facts_follow(org, agreements):
    job = run(f"{HEAD}\nHT-1,IDC-RACK,2026-03-01,4800\nHT-1,IDC-BW,2026-03-31,950.5\nHT-9,,2026-04-15,2000\n",
              by=org.admin)
    assert job.status == ImportStatus.DONE, job.counts
    assert figures() == {("HT-1", "IDC-RACK", dt.date(2026, 3, 1)): D("4800.00"),
                         ("HT-1", "IDC-BW", dt.date(2026, 3, 1)): D("950.50"),
                         ("HT-9", "IDC-RACK", dt.date(2026, 4, 1)): D("2000.00")}
    again = run(f"{HEAD}\nHT-1,IDC-RACK,2026-03-01,4800\nHT-1,IDC-BW,2026-03-01,0\nHT-9,,2026-04-01,2100\n",
                by=org.admin)
    assert again.status == ImportStatus.DONE
    assert figures() == {("HT-1", "IDC-RACK", dt.date(2026, 3, 1)): D("4800.00"),
                         ("HT-9", "IDC-RACK", dt.date(2026, 4, 1)): D("2100.00")}
    stored = {(f.account_id, f.product_line_id, f.month): {"expected": f.expected, "billed": f.billed,
                                                          "collected": f.collected, "recognised": f.recognised}
              for f in RevenueFact.objects.all()}
    assert stored == facts_direct()


def test_bad_rows_are_named_and_not_written(org, agreements):
    job = run(f"{HEAD}\nHT-1,,2026-03-01,100\nHT-1,WIFI,2026-03-01,100\nHT-1,IDC-RACK,2027-02-01,100\n"
              f"HT-404,IDC-RACK,2026-03-01,100\n", by=org.admin)
    rows = [(e.line, e.column) for e in ImportRowError.objects.filter(job=job).order_by("line", "id")]
    assert (2, "产品") in rows      # two lines: name the product
    assert (3, "产品") in rows      # unknown product
    assert (4, "月份") in rows      # outside the term
    assert (5, "协议编号") in rows   # unknown agreement
    assert not RevenueRecognition.objects.exists()


def test_only_agreements_the_importer_may_edit(org, agreements):
    job = run(f"{HEAD}\nHT-1,IDC-RACK,2026-03-01,4800\nHT-9,,2026-04-01,2000\n", by=org.rep)
    assert [(e.line, e.column, e.kind) for e in ImportRowError.objects.filter(job=job)] == [(3, "协议编号", "permission")]
    assert figures() == {("HT-1", "IDC-RACK", dt.date(2026, 3, 1)): D("4800.00")}

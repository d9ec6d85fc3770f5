"""Invoices and payments through the import framework: every bad row reported (with its column and
reason) while the good ones are written, a dry run as exact as the real one, the importer's reach,
re-imports that update or change nothing, and payments allocated to invoices of the same file."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from kamcrm.analytics.models import RevenueFact
from kamcrm.exchange.tests.import_helpers import csv_bytes, errors_of, run_import
from kamcrm.receivables.models import Invoice, Payment
from kamcrm.receivables.tests.helpers import invoice

pytestmark = pytest.mark.django_db
HEADER = ["Invoice", "Customer", "Date", "Due", "Amount", "Disputed", "Paid on", "Paid"]
STEPS = [
    {"entity": "invoice", "fields": {
        "number": {"column": "Invoice"}, "external_id": {"column": "Invoice"},
        "account": {"column": "Customer", "by": "external_id"},
        "invoice_date": {"column": "Date"}, "due_date": {"column": "Due"}, "amount": {"column": "Amount"},
        "disputed": {"column": "Disputed"}}},
    {"entity": "payment", "fields": {
        "external_id": {"column": "Invoice", "prefix": "paid:"}, "invoice": {"column": "Invoice", "by": "external_id"},
        "received_on": {"column": "Paid on"}, "amount": {"column": "Paid"}}},
]


@pytest.fixture(autouse=True)
def _import_dir(settings, tmp_path):
    settings.KAMCRM_IMPORT_DIR = tmp_path
    settings.KAMCRM_IMPORT_BATCH_SIZE = 4


@pytest.fixture
def customers(org):
    for account, ext in ((org.acct, "C-EAST"), (org.other, "C-WEST")):
        account.source_system, account.external_id = "erp", ext
        account.save()
    return org


def rows(*lines):
    return csv_bytes([HEADER, *lines])


GOOD = [
    ["F-1", "C-EAST", "2026-01-05", "2026-02-04", "100.00", "no", "2026-02-10", "100.00"],
    ["F-2", "C-EAST", "2026-01-06", "", "200.00", "yes", "2026-01-20", "50.00"],
    ["F-3", "C-WEST", "2026-01-07", "2026-02-06", "300.00", "", "2026-03-01", "350.00"],
]


def test_good_rows_make_invoices_with_their_payments(customers):
    org = customers
    job = run_import(by=org.admin, data=rows(*GOOD), steps=STEPS, source_system="erp")
    assert (job.status, job.bad_rows) == ("done", 0), errors_of(job)
    assert job.counts == {"0": {"created": 3}, "1": {"created": 3}}
    states = {i.number: (i.status, i.paid_amount, i.settled_on, i.disputed) for i in Invoice.objects.all()}
    assert states == {"F-1": ("paid", Decimal("100.00"), dt.date(2026, 2, 10), False),
                      "F-2": ("partly_paid", Decimal("50.00"), None, True),
                      "F-3": ("paid", Decimal("300.00"), dt.date(2026, 3, 1), False)}
    assert Invoice.objects.get(number="F-2").due_date == dt.date(2026, 2, 5)  # 30 days when empty
    assert Payment.objects.get(external_id="paid:F-3").unallocated == Decimal("50.00")  # over-payment: an advance
    assert sum(f.collected for f in RevenueFact.objects.all()) == Decimal("500.00")

    # importing again changes nothing; a changed flag updates the invoice
    again = run_import(by=org.admin, data=rows(*GOOD), steps=STEPS, source_system="erp")
    assert again.counts == {"0": {"unchanged": 3}, "1": {"unchanged": 3}}
    changed = [list(r) for r in GOOD]
    changed[0][5] = "yes"
    third = run_import(by=org.admin, data=rows(*changed), steps=STEPS, source_system="erp")
    assert third.counts["0"] == {"updated": 1, "unchanged": 2}
    assert Invoice.objects.get(number="F-1").disputed is True


def test_every_bad_row_is_reported_and_the_good_ones_written(customers):
    org = customers
    invoice(org.acct, number="OLD-1", amount="10.00", source_system="erp", external_id="X-OLD")
    bad = [
        *GOOD,
        ["F-4", "C-NOWHERE", "2026-01-05", "", "10.00", "no", "2026-01-10", "10.00"],  # unknown account
        ["F-5", "C-EAST", "05/01/2026", "", "10.00", "no", "2026-01-10", "10.00"],  # not a date
        ["F-6", "C-EAST", "2026-01-05", "2026-01-01", "10.00", "no", "2026-01-10", "10.00"],  # due before date
        ["F-1", "C-EAST", "2026-01-05", "", "10.00", "no", "2026-01-10", "10.00"],  # same number as line 2
        ["F-7", "C-EAST", "2026-01-05", "", "-3", "no", "2026-01-10", "1.00"],  # negative amount
        ["OLD-1", "C-EAST", "2026-01-05", "", "10.00", "no", "2026-01-10", "10.00"],  # number taken, other ext id
        ["F-8", "C-EAST", "2026-01-05", "", "10.00", "maybe", "2026-01-10", "10.00"],  # not yes or no
        ["F-9", "C-EAST", "2026-01-05", "", "10.00", "no", "", "10.00"],  # payment without a date
    ]
    dry = run_import(by=org.admin, data=rows(*bad), steps=STEPS, source_system="erp", dry_run=True)
    problems = {(line, column, kind) for line, column, kind, _m in errors_of(dry)}
    assert problems == {
        (5, "Customer", "reference"), (6, "Date", "type"), (7, "Due", "invalid"),
        (8, "Invoice", "duplicate_file"), (9, "Amount", "invalid"), (10, "Invoice", "duplicate_existing"),
        (11, "Disputed", "type"), (12, "Paid on", "missing"),
    }, errors_of(dry)
    assert not Invoice.objects.filter(number__startswith="F-").exists()
    job = run_import(by=org.admin, data=rows(*bad), steps=STEPS, source_system="erp")
    assert errors_of(job) == errors_of(dry)
    assert (job.bad_rows, sorted(Invoice.objects.filter(number__startswith="F-").values_list("number", flat=True))) == (
        8, ["F-1", "F-2", "F-3"])
    assert Payment.objects.count() == 3  # a rejected line writes neither its invoice nor its payment


def test_an_invoice_without_external_id_is_adopted_by_its_number(customers):
    org = customers
    old = invoice(org.acct, number="F-1", amount="100.00", day=dt.date(2026, 1, 5))
    job = run_import(by=org.admin, data=rows(GOOD[0]), steps=STEPS, source_system="erp")
    assert (job.bad_rows, job.counts["0"]) == (0, {"updated": 1}), errors_of(job)
    old.refresh_from_db()
    assert (old.source_system, old.external_id, old.due_date, old.status) == ("erp", "F-1", dt.date(2026, 2, 4), "paid")
    assert Invoice.objects.count() == 1


def test_rows_outside_the_importers_reach_are_refused(customers):
    org = customers
    job = run_import(by=org.rep, data=rows(*GOOD), steps=STEPS, source_system="erp")
    assert [(line, kind) for line, _c, kind, _m in errors_of(job)] == [(4, "permission")]
    assert set(Invoice.objects.values_list("number", flat=True)) == {"F-1", "F-2"}


def test_an_allocation_beyond_the_invoice_is_refused_on_its_line(customers):
    org = customers
    existing = invoice(org.acct, number="E-1", amount="100.00")
    existing.external_id, existing.source_system = "E-1", "erp"
    existing.save()
    steps = [{"entity": "payment", "fields": {
        "invoice": {"column": "Invoice", "by": "external_id"}, "received_on": {"column": "Paid on"},
        "amount": {"column": "Paid"}, "allocate": {"column": "Allocate"}, "external_id": {"column": "Ref"}}}]
    data = csv_bytes([["Ref", "Invoice", "Paid on", "Paid", "Allocate"],
                      ["P-1", "E-1", "2026-02-01", "60.00", "60.00"],
                      ["P-2", "E-1", "2026-02-02", "60.00", "60.00"],  # only 40.00 left open after line 2
                      ["P-3", "E-1", "2026-02-03", "30.00", ""]])  # as much as is open: 30.00
    job = run_import(by=org.admin, data=data, steps=steps, source_system="erp")
    assert [(line, column) for line, column, _k, _m in errors_of(job)] == [(3, "Allocate")]
    existing.refresh_from_db()
    assert (existing.paid_amount, existing.status) == (Decimal("90.00"), "partly_paid")


IBM_HEADER = ["countryCode", "customerID", "PaperlessDate", "invoiceNumber", "InvoiceDate", "DueDate", "InvoiceAmount",
              "Disputed", "SettledDate", "PaperlessBill", "DaysToSettle", "DaysLate"]


def test_the_ibm_mapping_collapses_repeated_customers_and_reports_a_conflicting_one(org):
    """One row per invoice: a customer's rows repeat it (collapsed into one account); a row that gives
    the same customer another country is a duplicate inside the file, reported on its line, and its
    invoice and payment are not written either."""
    import json
    from pathlib import Path

    mapping = json.loads((Path(__file__).resolve().parents[2] / "exchange" / "mappings" / "ibm-receivables.json")
                         .read_text(encoding="utf-8"))
    steps = mapping["steps"]
    steps[0]["fields"]["region"] = {"value": org.east.code}
    steps[0]["fields"]["owner"] = {"value": org.rep.username}
    data = csv_bytes([IBM_HEADER,
                      ["391", "0379-NEVHP", "4/6/2013", "0000611365", "1/2/2013", "2/1/2013", "55.94", "No", "1/15/2013",
                       "Paper", "13", "0"],
                      ["391", "0379-NEVHP", "4/6/2013", "0000611366", "1/3/2013", "2/2/2013", "10.00", "Yes", "2/12/2013",
                       "Paper", "40", "10"],
                      ["406", "0379-NEVHP", "4/6/2013", "0000611367", "1/4/2013", "2/3/2013", "20.00", "No", "2/1/2013",
                       "Paper", "28", "0"]])
    job = run_import(by=org.admin, data=data, steps=steps, source_system="ibm-ar")
    assert [(line, column, kind) for line, column, kind, _m in errors_of(job)] == [(4, "customerID", "duplicate_file")]
    assert job.counts["0"] == {"created": 1, "repeated": 1}
    assert sorted(Invoice.objects.values_list("number", "status", "disputed")) == [
        ("0000611365", "paid", False), ("0000611366", "paid", True)]
    late = Invoice.objects.get(number="0000611366")
    assert (late.settled_on - late.due_date).days == 10
    assert Payment.objects.count() == 2

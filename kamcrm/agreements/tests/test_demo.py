"""`kamcrm demo` builds agreements of every type and status with their schedules, orders, invoices,
payments, some overdue receivables and recognised revenue — and facts equal to a direct sum."""
from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from kamcrm.agreements.choices import AgreementStatus, AgreementType
from kamcrm.agreements.models import Agreement, AgreementChange, Order, RevenueRecognition, RevenueSlice
from kamcrm.analytics.facts import facts_direct
from kamcrm.analytics.models import RevenueFact
from kamcrm.org.demo import today_local
from kamcrm.receivables.choices import InvoiceStatus
from kamcrm.receivables.models import Invoice, Payment

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    out = io.StringIO()
    call_command("demo", "--accounts", "100", stdout=out)
    return out.getvalue()


def test_demo_has_agreements_of_every_type_and_status_with_receivables(demo):
    assert "agreements" in demo
    assert set(Agreement.objects.values_list("type", flat=True)) == set(AgreementType.values)
    assert set(Agreement.objects.values_list("status", flat=True)) == set(AgreementStatus.values)
    assert set(AgreementChange.objects.values_list("kind", flat=True)) >= {"signed", "amended", "suspended",
                                                                           "terminated"}
    # a prior schedule version is kept for every amended agreement
    assert RevenueSlice.objects.filter(superseded_at__isnull=False).exists()
    for agreement in Agreement.objects.exclude(status__in=["draft", "in_approval"]):
        current = sum(s.amount for s in RevenueSlice.objects.filter(agreement=agreement, superseded_at__isnull=True))
        assert current == agreement.total_value, agreement.number
    assert Order.objects.exists() and Payment.objects.exists()
    overdue = Invoice.objects.filter(status__in=[InvoiceStatus.OPEN, InvoiceStatus.PARTLY_PAID],
                                     due_date__lt=today_local())
    assert overdue.count() >= 5
    stored = {(f.account_id, f.product_line_id, f.month): {"expected": f.expected, "billed": f.billed,
                                                          "collected": f.collected, "recognised": f.recognised}
              for f in RevenueFact.objects.all()}
    assert stored == facts_direct()
    # finance's recognised revenue for closed months, differing from the expected slices in some
    recognised = RevenueRecognition.objects.select_related("line")
    assert recognised.exists() and all(r.month < today_local().replace(day=1) for r in recognised)
    expected = {(s.line_id, s.month): s.amount for s in RevenueSlice.objects.filter(superseded_at__isnull=True)}
    assert any(r.amount != expected[(r.line_id, r.month)] for r in recognised)
    # a second run adds nothing
    before = (Agreement.objects.count(), Invoice.objects.count(), Payment.objects.count(),
              RevenueRecognition.objects.count())
    call_command("demo", "--accounts", "100", stdout=io.StringIO())
    assert (Agreement.objects.count(), Invoice.objects.count(), Payment.objects.count(),
            RevenueRecognition.objects.count()) == before

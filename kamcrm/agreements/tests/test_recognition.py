"""Recognised revenue beside the expected slices and the billed invoices: recorded per line and month,
replaced by a newer figure, in the facts and reports, on the schedule, through the API."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from kamcrm.agreements import services
from kamcrm.agreements.models import RevenueRecognition
from kamcrm.analytics.facts import facts_direct
from kamcrm.analytics.models import RevenueFact
from kamcrm.products import services as product_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def agreement(org):
    line = product_services.product_line_create(code="CLOUD", name="云服务")
    product = product_services.product_create(line=line, code="CLOUD-1", name="云主机", list_price=D("100.00"),
                                              unit="台")
    agreement = services.agreement_create(account=org.acct, number="HT-R-1", title="云主机三年", owner=org.rep,
                                          start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 12, 31),
                                          lines=[{"product": product, "amount": D("120000.00")}])
    services.agreement_sign(agreement=agreement)
    return agreement


def recognised_facts(account_id):
    return {f.month: f.recognised for f in RevenueFact.objects.filter(account_id=account_id) if f.recognised}


def test_a_figure_is_recorded_replaced_and_removed_and_the_facts_follow(org, agreement):
    line = agreement.lines.get()
    services.revenue_recognise(line=line, month=dt.date(2026, 3, 15), amount="9500.5", by=org.rep)
    assert recognised_facts(org.acct.pk) == {dt.date(2026, 3, 1): D("9500.50")}
    services.revenue_recognise(line=line, month=dt.date(2026, 3, 1), amount=D("10000"), by=org.rep)
    assert RevenueRecognition.objects.get().amount == D("10000.00")
    assert recognised_facts(org.acct.pk) == {dt.date(2026, 3, 1): D("10000.00")}
    services.revenue_recognise(line=line, month=dt.date(2026, 3, 1), amount=0, by=org.rep)
    assert not RevenueRecognition.objects.exists() and recognised_facts(org.acct.pk) == {}
    stored = {(f.account_id, f.product_line_id, f.month): {"expected": f.expected, "billed": f.billed,
                                                          "collected": f.collected, "recognised": f.recognised}
              for f in RevenueFact.objects.all()}
    assert stored == facts_direct()


def test_months_outside_the_term_and_drafts_are_refused_naming_the_field(org, agreement):
    line = agreement.lines.get()
    with pytest.raises(ValidationError) as outside:
        services.revenue_recognise(line=line, month=dt.date(2027, 1, 1), amount=5)
    assert "month" in outside.value.message_dict
    draft = services.agreement_create(account=org.acct, number="HT-R-2", title="草稿", owner=org.rep,
                                      start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 6, 30),
                                      lines=[{"product": line.product, "amount": D("600.00")}])
    with pytest.raises(ValidationError) as unsigned:
        services.revenue_recognise(line=draft.lines.get(), month=dt.date(2026, 2, 1), amount=5)
    assert "line" in unsigned.value.message_dict
    assert not RevenueRecognition.objects.exists()


def test_the_schedule_shows_billed_and_recognised_under_the_expected_revenue(org, agreement, client_for):
    from kamcrm.receivables import services as receivables

    services.revenue_recognise(line=agreement.lines.get(), month=dt.date(2026, 2, 1), amount=D("8000"))
    receivables.invoice_create(account=org.acct, agreement=agreement, number="FP-1", invoice_date=dt.date(2026, 2, 9),
                               due_date=dt.date(2026, 3, 9), amount=D("10000.00"))
    page = client_for(org.rep).get(reverse("agreements:agreement", args=[agreement.pk])).content.decode()
    assert 'data-testid="schedule-recognised"' in page and "8,000.00" in page
    assert 'data-testid="schedule-billed"' in page and "10,000.00" in page


def test_the_api_records_for_editors_and_hides_from_others(org, agreement, api_for):
    line = agreement.lines.get()
    url = f"/api/v1/agreements/{agreement.pk}/recognised/"
    response = api_for(org.rep).post(url, {"line": line.pk, "month": "2026-04", "amount": "7000.00"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == [{"line": line.pk, "month": "2026-04", "amount": "7000.00",
                                "recorded_at": response.json()[0]["recorded_at"]}]
    bad = api_for(org.rep).post(url, {"line": line.pk, "month": "2025-04", "amount": "1"}, format="json")
    assert bad.status_code == 400 and "month" in bad.json()["errors"]
    assert api_for(org.outsider).get(url).status_code == 404
    assert api_for(org.outsider).post(url, {"line": line.pk, "month": "2026-05", "amount": "1"},
                                      format="json").status_code == 404
    schedule = api_for(org.rep).get(f"/api/v1/agreements/{agreement.pk}/schedule/").json()
    assert schedule["recognised"][schedule["months"].index("2026-04")] == "7000.00"
    assert RevenueRecognition.objects.count() == 1

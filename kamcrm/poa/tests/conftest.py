"""A month of records for the POA tests: an agreement signed, an invoice and a payment, won and open
opportunities and visits on rep's account, made through their services so the live figures are not zero."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

D = Decimal


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


@pytest.fixture
def on():
    return timezone.localdate()


@pytest.fixture
def period(on):
    start = on.replace(day=1)
    end = (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    return start, end


@pytest.fixture
def metrics(db):
    from kamcrm.targets import services as target_services
    from kamcrm.targets.models import Metric

    target_services.metric_defaults_ensure()
    return {m.code: m for m in Metric.objects.all()}


@pytest.fixture
def world(org, on, metrics):
    from types import SimpleNamespace

    from kamcrm.activities import services as activities
    from kamcrm.agreements import services as agreements
    from kamcrm.products import services as product_services
    from kamcrm.receivables import services as receivables
    from kamcrm.sales import services as sales
    from kamcrm.sales.models import Stage

    line = product_services.product_line_create(code="IDC", name="数据中心")
    other_line = product_services.product_line_create(code="NET", name="网络")
    product = product_services.product_create(line=line, code="IDC-RACK", name="机柜租用", list_price=D("8000"),
                                              unit="架")
    year_start, year_end = dt.date(on.year, 1, 1), dt.date(on.year, 12, 31)
    won = Stage.objects.get(code="won")
    assigned = Stage.objects.get(code="assigned")
    opp = sales.opportunity_create(account=org.acct, name="机柜扩容", owner=org.rep, stage=won, amount=D("5000"),
                                   entered_at=at(on, 9))
    sales.opportunity_create(account=org.acct, name="peer 7000", owner=org.peer, stage=won, amount=D("7000"),
                             entered_at=at(on, 9))
    sales.opportunity_create(account=org.other, name="outsider 9000", owner=org.outsider, stage=won,
                             amount=D("9000"), entered_at=at(on, 9))
    sales.opportunity_create(account=org.acct, name="open", owner=org.rep, stage=assigned, amount=D("10000"),
                             entered_at=at(on, 9))
    agreement = agreements.agreement_create(account=org.acct, number="HT-1", title="机柜", owner=org.rep,
                                            start_date=year_start, end_date=year_end, opportunity=opp,
                                            lines=[{"product": product, "amount": D("120000")}])
    agreements.agreement_sign(agreement=agreement, at=at(on))
    other_agreement = agreements.agreement_create(account=org.other, number="HT-2", title="机柜", owner=org.outsider,
                                                  start_date=year_start, end_date=year_end,
                                                  lines=[{"product": product, "amount": D("240000")}])
    agreements.agreement_sign(agreement=other_agreement, at=at(on))
    invoice = receivables.invoice_create(account=org.acct, number="FP-1", invoice_date=on.replace(day=1),
                                         amount=D("10000"), tax=D("600"), product_line=line)
    receivables.payment_create(account=org.acct, received_on=on.replace(day=1), amount=D("5300"),
                               allocations=[(invoice, D("5300"))])
    for owner, hour in ((org.rep, 9), (org.peer, 11)):
        visit = activities.visit_plan(account=org.acct, owner=owner, starts_at=at(on.replace(day=1), hour),
                                      purpose="拜访", opportunity=opp if owner == org.rep else None)
        activities.visit_record(visit=visit, outcome="ok")
    activities.visit_plan(account=org.acct, owner=org.rep, starts_at=at(on, 15), purpose="计划中")  # not made
    return SimpleNamespace(line=line, other_line=other_line, product=product, opp=opp, agreement=agreement)

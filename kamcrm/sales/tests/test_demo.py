"""`kamcrm demo` builds the catalogue, this year's product plan and a year of opportunities in every
stage, with back-dated history and the invariants the services keep; deterministic from the seed."""
from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db.models import Count, Sum

from kamcrm.audit.models import ObjectChange, TimelineEvent
from kamcrm.customers.models import Account
from kamcrm.org.demo import DEFAULT_SEED, SOURCE, today_local
from kamcrm.org.models import User
from kamcrm.products.demo import LINES, PRODUCTS
from kamcrm.products.models import Product, ProductLine, ProductPlan
from kamcrm.sales.demo import HISTORY_DAYS, plan_opportunities
from kamcrm.sales.models import Opportunity, OpportunityStageChange, Stage
from kamcrm.sales.selectors import funnel

pytestmark = pytest.mark.django_db
ACCOUNTS = 100


@pytest.fixture
def demo(db):
    out = io.StringIO()
    call_command("demo", "--accounts", str(ACCOUNTS), stdout=out)
    return out.getvalue()


def test_demo_builds_the_catalogue_and_the_plan(demo):
    assert "products" in demo and "opportunities" in demo
    assert ProductLine.objects.count() == len(LINES)
    assert Product.objects.count() == len(PRODUCTS)
    assert Product.objects.filter(name__contains="5G 专网", currency="CNY", list_price__gt=0).exists()
    year = today_local().year
    assert ProductPlan.objects.filter(year=year).count() == len(LINES) * 4  # lines × the demo's four regions
    assert set(ProductPlan.objects.filter(year=year).values_list("region__code", flat=True)) == {
        "JS-NJ", "JS-SZ", "JS-WX", "JS-XZ"}


def test_demo_opportunities_keep_the_services_invariants(demo):
    opportunities = list(Opportunity.objects.select_related("owner", "stage", "account"))
    assert len(opportunities) == round(ACCOUNTS * 0.6)
    # every stage of the path has opportunities
    in_stage = dict(Opportunity.objects.values_list("stage__code").annotate(n=Count("id")))
    assert set(in_stage) == set(Stage.objects.filter(is_active=True).values_list("code", flat=True))
    today = today_local()
    lines = dict(Opportunity.objects.values_list("pk").annotate(s=Sum("lines__amount")))
    ct = ContentType.objects.get_for_model(Opportunity)
    events = dict(TimelineEvent.objects.filter(content_type=ct, kind="stage_change").values_list("object_id")
                  .annotate(n=Count("id")))
    for o in opportunities:
        assert o.owner_id == o.account.owner_id and o.owner_unit_id == o.owner.unit_id
        assert o.amount == lines[o.pk] > 0
        history = list(o.stage_changes.order_by("changed_at", "id"))
        assert history[-1].to_stage_id == o.stage_id and history[-1].changed_at == o.stage_entered_at
        assert history[0].from_stage_id is None
        assert [h.from_stage_id for h in history[1:]] == [h.to_stage_id for h in history[:-1]]
        assert all(h.left_at == nxt.changed_at and h.seconds_in_stage == (nxt.changed_at - h.changed_at).total_seconds()
                   for h, nxt in zip(history, history[1:], strict=False))
        assert history[-1].left_at is None and history[-1].seconds_in_stage is None
        first_day = history[0].changed_at.date()
        assert today - dt.timedelta(days=HISTORY_DAYS) <= first_day and o.stage_entered_at.date() <= today + dt.timedelta(days=1)
        assert events[o.pk] == len(history)
        assert (o.closed_on is not None) == o.stage.is_closed
        assert bool(o.lost_reason) == (o.stage.kind == "lost")
        assert o.probability == o.stage.default_probability
    assert ObjectChange.objects.filter(content_type=ct, action="create").count() == len(opportunities)
    assert TimelineEvent.objects.filter(content_type=ct, kind="record_created").count() == len(opportunities)
    # the funnel reads them
    result = funnel(user=User.objects.get(username="admin"))
    assert sum(row.count for row in result.rows) == len(opportunities)
    won = result.total("won")
    assert won.count == in_stage["won"] and won.amount == sum(
        (o.amount for o in opportunities if o.stage.code == "won"), Decimal("0"))


def test_demo_is_deterministic_and_a_second_run_adds_nothing(demo):
    before = (Opportunity.objects.count(), OpportunityStageChange.objects.count(), Product.objects.count(),
              ProductPlan.objects.count())
    call_command("demo", "--accounts", str(ACCOUNTS), stdout=io.StringIO())
    assert (Opportunity.objects.count(), OpportunityStageChange.objects.count(), Product.objects.count(),
            ProductPlan.objects.count()) == before

    accounts = [(a.external_id, a.pk, a.short_name) for a in
                Account.objects.filter(source_system=SOURCE).order_by("external_id")]
    products = list(Product.objects.order_by("code"))
    stages = list(Stage.objects.filter(is_active=True).order_by("order", "id"))
    one = plan_opportunities(accounts=accounts, products=products, stages=stages, seed=DEFAULT_SEED, today=today_local())
    two = plan_opportunities(accounts=accounts, products=products, stages=stages, seed=DEFAULT_SEED, today=today_local())
    other = plan_opportunities(accounts=accounts, products=products, stages=stages, seed=DEFAULT_SEED + 1,
                               today=today_local())
    assert [(p.ext, p.name, p.path, p.times, p.lines) for p in one] == [(p.ext, p.name, p.path, p.times, p.lines)
                                                                        for p in two]
    assert [(p.name, p.path) for p in one] != [(p.name, p.path) for p in other]
    built = dict(Opportunity.objects.values_list("external_id", "name"))
    assert built == {p.ext: p.name for p in one}

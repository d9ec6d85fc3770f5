"""The pipeline's changes over a week: new, advanced, slipped (backwards, or past the close date), won,
lost — counts, amounts and the records behind them, within what the user may see."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from kamcrm.sales import services
from kamcrm.sales.changes import pipeline_changes, week_over_week
from kamcrm.sales.models import Stage

pytestmark = pytest.mark.django_db
MONDAY = dt.date(2026, 11, 16)


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def stage(code):
    return Stage.objects.get(code=code)


def deal(org, name, day, amount="100", code="obtained", **extra):
    return services.opportunity_create(account=org.acct, name=name, owner=org.rep, stage=stage(code),
                                       amount=Decimal(amount), entered_at=at(day), **extra)


def move(o, code, day, **extra):
    services.opportunity_move(opportunity=o, stage=stage(code), at=at(day), check=False, **extra)


def test_each_bucket_counts_what_happened_in_the_week(org):
    before = MONDAY - dt.timedelta(days=10)
    fresh = deal(org, "fresh", MONDAY + dt.timedelta(days=1), amount="10")
    up = deal(org, "up", before, code="created")
    move(up, "relationship", MONDAY + dt.timedelta(days=2))
    back = deal(org, "back", before, code="negotiation", expected_close_date=dt.date(2027, 3, 1))
    move(back, "assigned", MONDAY + dt.timedelta(days=3))
    late = deal(org, "late", before, code="created", expected_close_date=MONDAY + dt.timedelta(days=4), amount="70")
    won = deal(org, "won", before, code="negotiation", amount="500", expected_close_date=dt.date(2027, 1, 1))
    move(won, "won", MONDAY + dt.timedelta(days=4))
    lost = deal(org, "lost", before)
    move(lost, "lost", MONDAY + dt.timedelta(days=5), lost_reason="预算取消")
    outside = deal(org, "outside", before)
    move(outside, "created", MONDAY + dt.timedelta(days=8))  # next week

    week = pipeline_changes(user=org.rep, start=MONDAY, end=MONDAY + dt.timedelta(days=6))
    assert week["new"].ids == [fresh.pk] and week["new"].amount == Decimal("10")
    assert week["advanced"].ids == [up.pk]
    assert sorted(week["slipped"].ids) == sorted([back.pk, late.pk])
    assert week["won"].ids == [won.pk] and week["won"].amount == Decimal("500")
    assert week["lost"].ids == [lost.pk]
    assert all(outside.pk not in b.ids for b in week.values())
    # Someone who may not see the account sees nothing.
    assert all(b.count == 0 for b in pipeline_changes(user=org.outsider, start=MONDAY,
                                                      end=MONDAY + dt.timedelta(days=6)).values())


def test_week_over_week_puts_this_week_beside_the_one_before(org):
    deal(org, "last week", MONDAY - dt.timedelta(days=3))
    deal(org, "this week", MONDAY + dt.timedelta(days=1))
    (this_name, this_start, this), (prev_name, prev_start, prev) = week_over_week(user=org.rep,
                                                                                  day=MONDAY + dt.timedelta(days=2))
    assert (this_name, this_start, prev_name, prev_start) == ("this", MONDAY, "previous", MONDAY - dt.timedelta(days=7))
    assert (this["new"].count, prev["new"].count) == (1, 1)

"""Funnel health rules fire exactly once per period on fixtures built to trip them, and give the task
to the rule's owner; fixtures that do not trip them raise nothing."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from kamcrm.activities.models import Task
from kamcrm.customers import services as customer_services
from kamcrm.products import services as product_services
from kamcrm.sales import services
from kamcrm.sales.health import funnel_health_check, period_key
from kamcrm.sales.models import FunnelAlert, FunnelRule, Opportunity, Stage

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 11, 20)


def at(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(10)))


def stage(code):
    return Stage.objects.get(code=code)


def opp(org, *, amount="0", code="obtained", day=TODAY - dt.timedelta(days=1), owner=None):
    return services.opportunity_create(account=org.acct, name=f"deal {code}", owner=owner or org.rep,
                                       stage=stage(code), amount=Decimal(amount), entered_at=at(day))


def rule(org, kind, **extra):
    return FunnelRule.objects.create(name=f"{kind} rule", kind=kind, unit=org.east, task_owner=org.marketing,
                                     **extra)


def test_a_thin_top_fires_once_per_month_and_tasks_marketing(org):
    line = product_services.product_line_create(code="5G", name="5G")
    product_services.product_plan_set(year=2026, line=line, region=org.east, target_amount=Decimal("1000000"))
    opp(org, amount="50000")  # top of funnel: 50k against 3 × (1M − 0) gap
    r = rule(org, "thin_top", params={"k": 3})
    first = funnel_health_check(today=TODAY)
    assert len(first) == 1
    alert = first[0]
    assert (alert.value, alert.threshold, alert.period_key) == (Decimal("50000"), Decimal("3000000"), "2026-11")
    assert len(alert.opportunity_ids) == 1
    assert alert.task.assignee == org.marketing and alert.task.source == "funnel_alert"
    # Again the same month (and on every page view, which never runs it): nothing new.
    assert funnel_health_check(today=TODAY + dt.timedelta(days=5)) == []
    assert FunnelAlert.objects.filter(rule=r).count() == 1 and Task.objects.count() == 1
    # Next month it may fire again.
    assert len(funnel_health_check(today=dt.date(2026, 12, 2))) == 1


def test_a_healthy_top_raises_nothing(org):
    line = product_services.product_line_create(code="5G", name="5G")
    product_services.product_plan_set(year=2026, line=line, region=org.east, target_amount=Decimal("10000"))
    opp(org, amount="50000")
    rule(org, "thin_top", params={"k": 3})
    assert funnel_health_check(today=TODAY) == []


def test_stale_deals_are_those_older_than_the_stages_usual_stay(org):
    for days in (2, 3, 4, 5):  # completed stays in "created": 2-5 days; p75 = 4 days
        o = opp(org, code="created", day=TODAY - dt.timedelta(days=40))
        services.opportunity_move(opportunity=o, stage=stage("assigned"),
                                  at=at(TODAY - dt.timedelta(days=40 - days)), check=False)
    old = opp(org, code="created", day=TODAY - dt.timedelta(days=20))
    opp(org, code="created", day=TODAY - dt.timedelta(days=1))
    rule(org, "stale_deals")
    alerts = funnel_health_check(today=TODAY)
    assert len(alerts) == 1 and alerts[0].opportunity_ids == [old.pk]


def test_no_activity_counts_stage_changes_and_logged_interactions(org):
    quiet = opp(org, day=TODAY - dt.timedelta(days=45))
    r = rule(org, "no_activity", params={"days": 30})
    alerts = funnel_health_check(today=TODAY)
    assert alerts[0].opportunity_ids == [quiet.pk]
    # A visit logged on the account since then makes the deal active again (next period's check).
    customer_services.interaction_log(account=org.acct, kind="visit", subject="拜访", by=org.rep,
                                         occurred_at=at(TODAY))
    FunnelAlert.objects.filter(rule=r).delete()
    assert funnel_health_check(today=TODAY) == []


def test_low_conversion_compares_with_the_trailing_median(org):
    # Six earlier months with 2 of 2 entries advancing; last month 0 of 2.
    for months_back in range(2, 8):
        day = (TODAY.replace(day=15) - dt.timedelta(days=30 * months_back))
        for _i in range(2):
            o = opp(org, code="relationship", day=day)
            services.opportunity_move(opportunity=o, stage=stage("negotiation"), at=at(day + dt.timedelta(days=3)),
                                      check=False)
    stuck = [opp(org, code="relationship", day=dt.date(2026, 10, 10)) for _i in range(2)]
    rule(org, "low_conversion", params={"stage": "relationship", "periods": 6})
    alerts = funnel_health_check(today=TODAY)
    assert len(alerts) == 1
    assert (alerts[0].value, alerts[0].threshold) == (Decimal("0"), Decimal("1"))
    assert sorted(alerts[0].opportunity_ids) == sorted(o.pk for o in stuck)


def test_rules_only_see_their_units_pipeline(org):
    Opportunity.objects.all().delete()
    services.opportunity_create(account=org.other, name="west deal", owner=org.outsider, stage=stage("obtained"),
                                entered_at=at(TODAY - dt.timedelta(days=60)))
    rule(org, "no_activity", params={"days": 30})  # East only
    assert funnel_health_check(today=TODAY) == []


def test_period_keys():
    assert period_key("month", TODAY) == "2026-11" and period_key("week", TODAY) == "2026-W47"


def test_saving_a_rule_keeps_what_is_left_out_and_checks_parameters_against_the_check(org):
    from django.core.exceptions import ValidationError

    from kamcrm.sales.health import funnel_rule_save

    r = funnel_rule_save(data={"name": "无跟进", "kind": "no_activity", "unit": org.east, "task_owner": org.marketing,
                               "params": {"days": 30}})
    funnel_rule_save(rule=r, data={"name": "三十天无跟进"})
    r.refresh_from_db()
    assert (r.name, r.kind, r.params) == ("三十天无跟进", "no_activity", {"days": 30})
    with pytest.raises(ValidationError) as caught:
        funnel_rule_save(rule=r, data={"kind": "thin_top"})  # the kept parameters do not fit the new check
    assert caught.value.message_dict == {"params": ["This check does not use days."]}
    funnel_rule_save(rule=r, data={"kind": "thin_top", "params": {"k": 2}})
    r.refresh_from_db()
    assert (r.kind, r.params) == ("thin_top", {"k": 2})

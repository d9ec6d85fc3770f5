"""The list and the plan page cost the same number of queries however many plans, cycles and actions."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kamcrm.poa import services

pytestmark = pytest.mark.django_db
D = Decimal


def _count(client, url):
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx)


def test_list_queries_do_not_grow_with_plans(org, world, client_for):
    client = client_for(org.manager)
    url = reverse("poa:plan_list")
    services.plan_create(subject=org.acct, title="a", owner=org.rep)
    small = _count(client, url)
    for i in range(8):
        services.plan_create(subject=org.acct, title=f"a{i}", owner=org.rep)
        services.plan_create(subject=world.opp, title=f"o{i}", owner=org.rep)
        services.plan_create(subject=org.team_e1, title=f"t{i}", owner=org.manager)
        services.plan_create(subject=org.peer, title=f"p{i}", owner=org.manager)
    assert _count(client, url) == small


def test_plan_page_queries_do_not_grow_with_actions_or_cycles(org, metrics, period, client_for):
    client = client_for(org.rep)
    plan = services.plan_create(subject=org.acct, title="a", owner=org.rep)
    cycle = services.cycle_open(plan=plan, period_start=period[0], period_end=period[1])
    services.objective_add(cycle=cycle, metric=metrics["visits"], target=D("3"))
    services.action_add(cycle=cycle, title="first", owner=org.rep, due_on=period[1])
    url = reverse("poa:plan_detail", args=[plan.pk])
    small = _count(client, url)
    for i in range(10):
        services.action_add(cycle=cycle, title=f"a{i}", owner=org.peer if i % 2 else org.manager, due_on=period[1])
    assert _count(client, url) == small
    # earlier cycles, closed with their check figures, cost nothing more either
    services.cycle_start(cycle=cycle)
    services.cycle_check(cycle=cycle)
    services.cycle_feedback(cycle=cycle, feedback="ok")
    start = period[1] + dt.timedelta(days=1)
    second = services.cycle_open(plan=plan, period_start=start, period_end=start + dt.timedelta(days=27))
    services.objective_add(cycle=second, metric=metrics["visits"], target=D("3"))
    services.action_add(cycle=second, title="b", owner=org.rep, due_on=start)
    with_cycles = _count(client, url)
    for i in range(3):
        services.cycle_start(cycle=second)
        services.cycle_check(cycle=second)
        services.cycle_feedback(cycle=second, feedback="ok")
        start = second.period_end + dt.timedelta(days=1)
        second = services.cycle_open(plan=plan, period_start=start, period_end=start + dt.timedelta(days=27))
        services.objective_add(cycle=second, metric=metrics["visits"], target=D("3"))
        for j in range(3):
            services.action_add(cycle=second, title=f"c{i}{j}", owner=org.rep, due_on=start)
    assert _count(client, url) == with_cycles <= 25

"""The plan page costs the same number of queries however many units, people and lines it shows."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kamcrm.targets import services
from kamcrm.targets.models import Metric
from kamcrm.targets.tests.test_views import plan  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db
D = Decimal


def test_plan_page_queries_do_not_grow_with_the_plan(org, plan, client_for):  # noqa: F811
    client = client_for(org.exec_)
    url = reverse("targets:plan_detail", args=[plan.pk])
    client.get(url)  # warm the session and content types
    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200
    metric = Metric.objects.get(code="expected_revenue")
    services.target_set(plan=plan, metric=metric, node=org.hq, amounts=[D("12000")] * 12)
    services.target_decompose(plan=plan, metric=metric, parent=org.hq, children={org.west: [D("100")] * 12})
    services.target_decompose_by_shares(plan=plan, metric=metric, parent=org.west,
                                        shares={org.sales_west: 1, org.svc_west: 1})
    services.target_decompose_by_shares(plan=plan, metric=metric, parent=org.sales_west, shares={org.team_w1: 1})
    services.target_decompose_by_shares(plan=plan, metric=metric, parent=org.team_w1, shares={org.outsider: 1})
    with CaptureQueriesContext(connection) as large:
        page = client.get(url).content.decode()
    assert f'data-testid="row-p{org.outsider.pk}"' in page
    assert len(large) == len(small) <= 12, [q["sql"] for q in large]

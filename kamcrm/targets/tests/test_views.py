"""The plan grid and the completion page: each person sees only what their reach covers (a rep their own
line), out-of-balance rows are flagged, and both pages render in English and Chinese."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from kamcrm.targets import services
from kamcrm.targets.models import Metric

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def plan(org):
    services.metric_defaults_ensure()
    metric = Metric.objects.get(code="expected_revenue")
    plan = services.plan_create(year=timezone.localdate().year)
    services.target_set(plan=plan, metric=metric, node=org.hq, amounts=[D("9000")] * 12)
    for parent, kids in ((org.hq, [org.east]), (org.east, [org.sales_east]), (org.sales_east, [org.team_e1]),
                         (org.team_e1, [org.rep, org.peer])):
        services.target_decompose_by_shares(plan=plan, metric=metric, parent=parent, shares=dict.fromkeys(kids, 1))
    return plan


def test_a_rep_sees_their_own_line_and_a_manager_their_team(org, plan, client_for):
    url = reverse("targets:plan_detail", args=[plan.pk])
    page = client_for(org.rep).get(url).content.decode()
    assert f'data-testid="row-p{org.rep.pk}"' in page and f'data-testid="row-p{org.peer.pk}"' not in page
    assert f'data-testid="row-u{org.hq.pk}"' not in page
    page = client_for(org.manager).get(url).content.decode()
    assert f'data-testid="row-p{org.peer.pk}"' in page and f'data-testid="row-u{org.team_e1.pk}-unallocated"' in page
    assert f'data-testid="row-u{org.east.pk}"' not in page


def test_out_of_balance_is_flagged_on_the_grid(org, plan, client_for):
    metric = Metric.objects.get(code="expected_revenue")
    services.target_set(plan=plan, metric=metric, node=org.hq, amounts={1: D("12000")})
    page = client_for(org.exec_).get(reverse("targets:plan_detail", args=[plan.pk])).content.decode()
    assert 'data-testid="out-of-balance"' in page and f'data-testid="check-u{org.hq.pk}"' in page


def test_completion_page_for_oneself_a_unit_and_refused_elsewhere(org, plan, client_for):
    url = reverse("targets:completion")
    rep = client_for(org.rep)
    response = rep.get(url)
    assert response.status_code == 200 and 'data-testid="metric-expected_revenue"' in response.content.decode()
    assert rep.get(url + f"?unit={org.team_e1.pk}").status_code == 404
    assert rep.get(url + f"?person={org.peer.pk}").status_code == 404
    manager = client_for(org.manager)
    page = manager.get(url + f"?unit={org.team_e1.pk}&period=year").content.decode()
    assert 'data-testid="ranking"' in page and "peer" in page
    assert f'data-testid="unit-months-{org.team_e1.code}"' in page and f'unit-months-{org.east.code}"' not in page
    assert manager.get(url + "?period=decade").status_code == 400


def test_pages_in_chinese(org, plan, client_for):
    client = client_for(org.exec_)
    client.cookies["django_language"] = "zh-hans"
    page = client.get(reverse("targets:plan_detail", args=[plan.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "未分配" in page
    page = client.get(reverse("targets:completion"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "差距" in page
    assert client.get(reverse("targets:plan_list")).status_code == 200

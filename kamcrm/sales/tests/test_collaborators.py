"""A collaborator from another unit sees the opportunity they help with, everywhere the opportunity is
listed or read, and may not change it; the account stays out of their sight."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from kamcrm.sales import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def deal(org):
    deal = services.opportunity_create(account=org.acct, name="园区 5G 专网", owner=org.rep, amount=Decimal("80000.00"))
    services.opportunity_create(account=org.acct, name="视频监控扩容", owner=org.rep, amount=Decimal("9.00"))
    return deal


def test_before_being_added_the_colleague_sees_nothing(org, deal, client_for, api_for):
    assert client_for(org.service).get(reverse("sales:opportunity", args=[deal.pk])).status_code == 404
    assert api_for(org.service).get(f"/api/v1/opportunities/{deal.pk}/").status_code == 404


def test_a_collaborator_sees_that_opportunity_only(org, deal, client_for, api_for):
    services.opportunity_update(opportunity=deal, data={"collaborators": [org.service]}, by=org.rep)
    client = client_for(org.service)
    assert client.get(reverse("sales:opportunity", args=[deal.pk])).status_code == 200
    listed = client.get(reverse("sales:opportunity_list"))
    assert "园区 5G 专网" in listed.content.decode() and "视频监控扩容" not in listed.content.decode()
    api = api_for(org.service)
    assert [row["id"] for row in api.get("/api/v1/opportunities/").json()["results"]] == [deal.pk]
    assert api.get(f"/api/v1/opportunities/{deal.pk}/").status_code == 200
    # ...but not its account
    assert client.get(reverse("customers:account", args=[org.acct.pk])).status_code == 404


def test_a_collaborator_may_not_change_the_opportunity(org, deal, client_for, api_for):
    services.opportunity_update(opportunity=deal, data={"collaborators": [org.service]}, by=org.rep)
    response = api_for(org.service).patch(f"/api/v1/opportunities/{deal.pk}/", {"name": "改名"}, format="json")
    assert response.status_code in (403, 404)
    deal.refresh_from_db()
    assert deal.name == "园区 5G 专网"
    assert client_for(org.service).get(reverse("sales:opportunity_edit", args=[deal.pk])).status_code == 404


def test_removed_collaborators_lose_sight_of_it(org, deal, api_for):
    services.opportunity_update(opportunity=deal, data={"collaborators": [org.service]}, by=org.rep)
    services.opportunity_update(opportunity=deal, data={"collaborators": []}, by=org.rep)
    assert api_for(org.service).get(f"/api/v1/opportunities/{deal.pk}/").status_code == 404

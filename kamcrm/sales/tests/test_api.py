"""Opportunity, stage and funnel API: visibility through the account for every persona, writes
through the services (404 / 403 / 400 naming the field), moves with exit criteria, history, upserts
by external id, integration-token scopes, and query counts that do not grow with the page."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kamcrm.customers import services as customer_services
from kamcrm.org.tests.test_visibility import ROLE_MATRIX
from kamcrm.products import services as product_services
from kamcrm.sales import services
from kamcrm.sales.models import Opportunity, OpportunityStageChange, Stage

pytestmark = pytest.mark.django_db

URL = "/api/v1/opportunities/"


def persona(org, name):
    return getattr(org, "exec_" if name == "exec" else name)


def stage(code: str) -> Stage:
    return Stage.objects.get(code=code)


@pytest.fixture
def product():
    line = product_services.product_line_create(code="5G", name="5G 专网")
    return product_services.product_create(line=line, code="5G-PN", name="5G 专网套餐", list_price=Decimal("12000.00"))


@pytest.fixture
def deals(org):
    """One opportunity on each account: the rep's (East) and the outsider's (West)."""
    mine = services.opportunity_create(by=org.rep, account=org.acct, name="园区 5G 专网", owner=org.rep,
                                       amount=Decimal("100000"))
    theirs = services.opportunity_create(by=org.outsider, account=org.other, name="物流园 IDC", owner=org.outsider,
                                         amount=Decimal("50000"))
    return mine, theirs


def ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


# ---- visibility -------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ROLE_MATRIX)
def test_list_and_detail_follow_the_accounts_visibility(org, deals, api_for, name):
    # given
    mine, theirs = deals
    sees_acct, sees_other = ROLE_MATRIX[name][:2]
    api = api_for(persona(org, name))
    # when / then
    assert ids(api.get(URL)) == {pk for pk, seen in ((mine.pk, sees_acct), (theirs.pk, sees_other)) if seen}
    assert api.get(f"{URL}{mine.pk}/").status_code == (200 if sees_acct else 404)
    assert api.get(f"{URL}{theirs.pk}/").status_code == (200 if sees_other else 404)
    assert api.get(f"{URL}{mine.pk}/history/").status_code == (200 if sees_acct else 404)


@pytest.mark.parametrize("name", ROLE_MATRIX)
def test_moving_needs_edit_access_to_the_account(org, deals, api_for, name):
    # given
    mine = deals[0]
    sees_acct, _sees_other, edits_acct, _edits_other = ROLE_MATRIX[name]
    entries = OpportunityStageChange.objects.count()
    # when
    response = api_for(persona(org, name)).post(f"{URL}{mine.pk}/move/", {"stage": "created"}, format="json")
    # then
    assert response.status_code == (200 if edits_acct else 403 if sees_acct else 404), response.content
    mine.refresh_from_db()
    assert (mine.stage.code == "created") == edits_acct
    assert OpportunityStageChange.objects.count() == entries + (1 if edits_acct else 0)


def test_an_outsider_cannot_list_see_change_or_move_the_reps_opportunity(org, deals, api_for):
    mine = deals[0]
    api = api_for(org.outsider)
    assert mine.pk not in ids(api.get(URL))
    assert api.get(f"{URL}{mine.pk}/").status_code == 404
    assert api.patch(f"{URL}{mine.pk}/", {"name": "改名"}, format="json").status_code == 404
    assert api.post(f"{URL}{mine.pk}/move/", {"stage": "created"}, format="json").status_code == 404
    assert api.get(f"{URL}{mine.pk}/history/").status_code == 404
    mine.refresh_from_db()
    assert (mine.name, mine.stage.code) == ("园区 5G 专网", "obtained")


def test_the_manager_sees_changes_and_moves_the_reps_opportunity(org, deals, api_for):
    mine = deals[0]
    api = api_for(org.manager)
    assert mine.pk in ids(api.get(URL))
    response = api.patch(f"{URL}{mine.pk}/", {"competitor": "某友商"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["competitor"] == "某友商"
    response = api.post(f"{URL}{mine.pk}/move/", {"stage": stage("assigned").pk}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["stage"]["code"] == "assigned"
    history = api.get(f"{URL}{mine.pk}/history/").json()
    assert [(h["from_stage"] and h["from_stage"]["code"], h["to_stage"]["code"]) for h in history] == [
        ("obtained", "assigned"), (None, "obtained")]
    assert history[0]["changed_by"]["username"] == "manager"


def test_a_user_who_sees_but_may_not_edit_gets_403_on_a_change(org, deals, api_for):
    mine = deals[0]
    response = api_for(org.bizmgmt).patch(f"{URL}{mine.pk}/", {"name": "改名"}, format="json")
    assert response.status_code == 403
    mine.refresh_from_db()
    assert mine.name == "园区 5G 专网"


# ---- create and update ----------------------------------------------------------------------------

def test_the_rep_creates_an_opportunity_with_lines_contacts_and_collaborators(org, api_for, product):
    contact = customer_services.contact_create(account=org.acct, name="王经理")
    body = {"account": org.acct.pk, "name": "智慧园区", "expected_close_date": "2026-12-31", "source": "referral",
            "lines": [{"product": product.pk, "quantity": "2"}, {"product_code": "5G-PN", "unit_price": "1000"}],
            "contacts": [contact.pk], "collaborators": [org.peer.pk]}
    # when
    response = api_for(org.rep).post(URL, body, format="json")
    # then
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["owner"]["username"] == "rep" and data["stage"]["code"] == "obtained"
    assert Decimal(data["amount"]) == Decimal("25000.00")
    assert Decimal(data["weighted_amount"]) == Decimal("1250.00")  # 5 % of the obtained stage
    assert [line["product"]["code"] for line in data["lines"]] == ["5G-PN", "5G-PN"]
    assert data["contacts"] == [contact.pk] and data["collaborators"] == [org.peer.pk]
    assert Opportunity.objects.get(pk=data["id"]).owner_unit == org.team_e1


def test_creating_on_an_account_one_may_not_edit_or_see_is_refused(org, api_for):
    # bizmgmt sees the account but may not edit it; the outsider does not see it
    response = api_for(org.bizmgmt).post(URL, {"account": org.acct.pk, "name": "试探"}, format="json")
    assert response.status_code == 403
    response = api_for(org.outsider).post(URL, {"account": org.acct.pk, "name": "试探"}, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["account"]
    assert not Opportunity.objects.filter(name="试探").exists()


def test_validation_errors_name_the_field(org, api_for, deals):
    api = api_for(org.rep)
    response = api.post(URL, {"name": "无客户"}, format="json")
    assert response.status_code == 400 and "account" in response.json()["errors"]
    response = api.post(URL, {"account": org.acct.pk, "name": "x", "probability": 140}, format="json")
    assert response.status_code == 400 and "probability" in response.json()["errors"]
    other_contact = customer_services.contact_create(account=org.other, name="李娜")
    response = api.patch(f"{URL}{deals[0].pk}/", {"contacts": [other_contact.pk]}, format="json")
    assert response.status_code == 400 and "contacts" in response.json()["errors"]
    response = api.patch(f"{URL}{deals[0].pk}/", {"stage": stage("won").pk}, format="json")
    assert response.status_code == 400 and list(response.json()["errors"]) == ["stage"]


def test_collaborators_are_ids_in_and_out_changed_cleared_audited_and_inactive_ones_refused(org, api_for, deals):
    from django.contrib.contenttypes.models import ContentType

    from kamcrm.audit.models import ObjectChange
    from kamcrm.org import services as org_services

    mine = deals[0]
    api = api_for(org.rep)
    # a partner user and someone from another branch
    response = api.patch(f"{URL}{mine.pk}/", {"collaborators": [org.partner.pk, org.outsider.pk]}, format="json")
    assert response.status_code == 200, response.content
    assert sorted(response.json()["collaborators"]) == sorted([org.partner.pk, org.outsider.pk])
    assert api.get(f"{URL}{mine.pk}/").json()["collaborators"] == response.json()["collaborators"]
    # left out: kept; an empty list: cleared
    assert len(api.patch(f"{URL}{mine.pk}/", {"name": "改名"}, format="json").json()["collaborators"]) == 2
    assert api.patch(f"{URL}{mine.pk}/", {"collaborators": []}, format="json").json()["collaborators"] == []
    # inactive or unknown: 400 on the field, nothing changes
    org_services.user_update(user=org.service, data={"is_active": False})
    response = api.patch(f"{URL}{mine.pk}/", {"collaborators": [org.peer.pk, org.service.pk]}, format="json")
    assert response.status_code == 400 and list(response.json()["errors"]) == ["collaborators"]
    assert "no longer active: service" in response.json()["errors"]["collaborators"][0]
    response = api.patch(f"{URL}{mine.pk}/", {"collaborators": [999999]}, format="json")
    assert response.status_code == 400 and list(response.json()["errors"]) == ["collaborators"]
    assert not mine.collaborators.exists()
    # each change is in the opportunity's audit, by the API user, over the API
    rows = ObjectChange.objects.filter(content_type=ContentType.objects.get_for_model(Opportunity), object_id=mine.pk,
                                       changes__has_key="collaborators").order_by("id")
    assert [(r.actor_id, r.channel, r.changes["collaborators"]) for r in rows] == [
        (org.rep.pk, "api", [[], sorted([org.partner.pk, org.outsider.pk])]),
        (org.rep.pk, "api", [sorted([org.partner.pk, org.outsider.pk]), []])]


# ---- moves ----------------------------------------------------------------------------------------

def test_a_move_names_the_missing_exit_criteria(org, api_for):
    opportunity = services.opportunity_create(by=org.rep, account=org.acct, name="谈判中", owner=org.rep,
                                              stage=stage("relationship"))
    # when
    response = api_for(org.rep).post(f"{URL}{opportunity.pk}/move/", {"stage": "negotiation"}, format="json")
    # then
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "Invalid input."
    assert "at least one contact involved" in body["errors"]["stage"][0]
    opportunity.refresh_from_db()
    assert opportunity.stage.code == "relationship"


def test_a_move_to_lost_needs_a_reason(org, api_for, deals):
    api = api_for(org.rep)
    response = api.post(f"{URL}{deals[0].pk}/move/", {"stage": "lost"}, format="json")
    assert response.status_code == 400 and list(response.json()["errors"]) == ["lost_reason"]
    response = api.post(f"{URL}{deals[0].pk}/move/", {"stage": "lost", "lost_reason": "价格高于竞品"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["closed_on"] is not None and response.json()["probability"] == 0


@pytest.mark.parametrize("value", ["no-such-stage", "999999", ""])
def test_a_move_to_an_unknown_stage_is_a_400_on_stage(org, api_for, deals, value):
    response = api_for(org.rep).post(f"{URL}{deals[0].pk}/move/", {"stage": value}, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["stage"]
    deals[0].refresh_from_db()
    assert deals[0].stage.code == "obtained"


# ---- filters, sorts, upserts ----------------------------------------------------------------------

def test_the_list_takes_the_filtersets_filters_and_sorts(org, api_for, deals, product):
    services.opportunity_update(opportunity=deals[0], data={"lines": [{"product": product, "quantity": 1}]})
    api = api_for(org.admin)
    assert ids(api.get(URL, {"product_line": product.line_id})) == {deals[0].pk}
    assert ids(api.get(URL, {"owner_unit": org.west.pk})) == {deals[1].pk}
    assert ids(api.get(URL, {"q": "物流"})) == {deals[1].pk}
    assert ids(api.get(URL, {"kind": "open"})) == {deals[0].pk, deals[1].pk}
    # the line made the rep's amount 12,000, below the outsider's 50,000
    names = [row["name"] for row in api.get(URL, {"sort": "-amount"}).json()["results"]]
    assert names == ["物流园 IDC", "园区 5G 专网"]
    response = api.get(URL, {"sort": "bogus"})
    assert response.status_code == 400 and list(response.json()["errors"]) == ["sort"]
    response = api.get(URL, {"close_from": "not-a-date"})
    assert response.status_code == 400 and "close_from" in response.json()["errors"]


def test_upsert_by_external_id_creates_then_updates(org, api_for):
    customer_services.account_update(account=org.acct, data={"source_system": "erp", "external_id": "C-1"})
    api = api_for(org.rep)
    body = {"account_external_id": "C-1", "name": "ERP 商机", "amount": "3000.00"}
    first = api.put(f"{URL}by-external-id/erp/O-1/", body, format="json")
    assert first.status_code == 201, first.content
    second = api.put(f"{URL}by-external-id/erp/O-1/", {**body, "amount": "4000.00"}, format="json")
    assert second.status_code == 200, second.content
    assert second.json()["id"] == first.json()["id"]
    assert Opportunity.objects.get(source_system="erp", external_id="O-1").amount == Decimal("4000.00")
    assert api.get(f"{URL}by-external-id/erp/O-1/").json()["name"] == "ERP 商机"
    # the outsider can neither see nor overwrite it
    assert api_for(org.outsider).put(f"{URL}by-external-id/erp/O-1/", body, format="json").status_code == 404


# ---- stages and funnel ----------------------------------------------------------------------------

def test_stages_are_listed_in_order_and_read_only(org, api_for):
    api = api_for(org.admin)
    codes = [row["code"] for row in api.get("/api/v1/stages/").json()["results"]]
    assert codes[:3] == ["obtained", "created", "assigned"] and "won" in codes
    assert api.post("/api/v1/stages/", {"code": "x"}, format="json").status_code == 405


@pytest.mark.parametrize("name", ["rep", "outsider", "manager", "peer", "admin"])
def test_the_funnel_counts_only_visible_opportunities(org, api_for, deals, name):
    sees_acct, sees_other = ROLE_MATRIX[name][:2]
    response = api_for(persona(org, name)).get("/api/v1/funnel/")
    assert response.status_code == 200, response.content
    data = response.json()
    first = next(row for row in data["rows"] if row["stage"]["code"] == "obtained")
    assert first["count"] == int(sees_acct) + int(sees_other)
    expected = Decimal(100000) * sees_acct + Decimal(50000) * sees_other
    assert Decimal(data["totals"]["open"]["amount"]) == expected


def test_the_funnel_takes_its_parameters(org, api_for, deals):
    api = api_for(org.admin)
    data = api.get("/api/v1/funnel/", {"unit": org.west.pk}).json()
    assert data["totals"]["open"]["count"] == 1
    data = api.get("/api/v1/funnel/", {"owner": org.rep.pk}).json()
    assert data["totals"]["open"]["count"] == 1
    data = api.get("/api/v1/funnel/", {"as_of": "2000-01-01"}).json()
    assert data["as_of"] == "2000-01-01" and data["totals"]["open"]["count"] == 0
    response = api.get("/api/v1/funnel/", {"close_from": "2026-12-31", "close_to": "2026-01-01"})
    assert response.status_code == 400 and list(response.json()["errors"]) == ["close_to"]
    response = api.get("/api/v1/funnel/", {"unit": 999999})
    assert response.status_code == 400 and list(response.json()["errors"]) == ["unit"]


# ---- integration tokens -------------------------------------------------------------------------

def test_an_integration_token_needs_read_for_get_and_write_for_a_move(org, deals):
    from rest_framework.test import APIClient

    from kamcrm.integrations import services as integration_services

    integration = integration_services.integration_create(name="BI", code="bi")
    _token, read_key = integration_services.api_token_create(integration=integration, name="r", scopes=["read"])
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {read_key}")
    assert api.get(URL).status_code == 200
    assert api.get("/api/v1/funnel/").status_code == 200
    assert api.post(f"{URL}{deals[0].pk}/move/", {"stage": "created"}, format="json").status_code == 403
    _token, write_key = integration_services.api_token_create(integration=integration, name="w",
                                                              scopes=["read", "write"])
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {write_key}")
    assert api.post(f"{URL}{deals[0].pk}/move/", {"stage": "created"}, format="json").status_code == 200


# ---- query counts ---------------------------------------------------------------------------------

def _queries(api, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = api.get(url)
    assert response.status_code == 200, response.content
    return len(ctx.captured_queries)


def _grow(org, product, n=15):
    contact = customer_services.contact_create(account=org.acct, name="张伟")
    for i in range(n):
        services.opportunity_create(by=org.rep, account=org.acct, name=f"扩充商机{i:02d}", owner=org.rep,
                                    lines=[{"product": product, "quantity": 1}, {"product": product, "quantity": 2}],
                                    contacts=[contact], collaborators=[org.peer, org.manager],
                                    expected_close_date=dt.date(2026, 12, 1))


@pytest.mark.parametrize("name", ["admin", "rep", "manager"])
def test_list_query_counts_do_not_grow_with_the_page(org, api_for, deals, product, name):
    api = api_for(persona(org, name))
    urls = [URL, f"{URL}?brief=true", f"{URL}{deals[0].pk}/", f"{URL}{deals[0].pk}/history/", "/api/v1/stages/",
            "/api/v1/funnel/", "/api/v1/products/", "/api/v1/product-lines/", "/api/v1/product-plans/"]
    small = {url: _queries(api, url) for url in urls}
    _grow(org, product)
    large = {url: _queries(api, url) for url in urls}
    assert large == small
    assert len(api.get(URL).json()["results"]) >= 16


# ---- schema -------------------------------------------------------------------------------------

def test_the_schema_describes_the_new_endpoints_and_their_parameters(api_for, org):
    from drf_spectacular.validation import validate_schema

    response = api_for(org.rep).get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    validate_schema(schema)
    paths = schema["paths"]
    assert {"/api/v1/opportunities/", "/api/v1/opportunities/{id}/", "/api/v1/opportunities/{id}/move/",
            "/api/v1/opportunities/{id}/history/", "/api/v1/funnel/", "/api/v1/stages/", "/api/v1/products/",
            "/api/v1/product-lines/", "/api/v1/product-plans/",
            "/api/v1/opportunities/by-external-id/{source_system}/{external_id}/",
            "/api/v1/products/by-external-id/{source_system}/{external_id}/", "/api/v1/funnel-rules/",
            "/api/v1/funnel-rules/{id}/", "/api/v1/funnel-rules/{id}/check-now/"} <= set(paths)
    params = {p["name"] for p in paths["/api/v1/opportunities/"]["get"]["parameters"]}
    assert {"q", "stage", "kind", "owner", "owner_unit", "account", "product_line", "source", "close_from",
            "close_to", "cursor", "page_size", "sort", "brief"} <= params
    funnel = {p["name"] for p in paths["/api/v1/funnel/"]["get"]["parameters"]}
    assert funnel == {"unit", "owner", "product_line", "close_from", "close_to", "as_of"}
    assert "post" in paths["/api/v1/opportunities/{id}/move/"]
    assert "post" not in paths["/api/v1/stages/"]
    assert set(paths["/api/v1/funnel-rules/{id}/"]) == {"get", "patch"}
    assert "post" in paths["/api/v1/funnel-rules/{id}/check-now/"]


# ---- funnel health rules ------------------------------------------------------------------------

RULES = "/api/v1/funnel-rules/"
RULES_REFUSED = "Only administrators and business management maintain the funnel rules."


def _rule_body(org, **extra):
    return {"name": "华东无跟进", "kind": "no_activity", "unit": org.east.pk, "period": "month",
            "task_owner": org.marketing.pk, "params": {"days": 30}, **extra}


def _rule(org, **extra):
    from kamcrm.sales.health import funnel_rule_save

    data = {"name": "华东无跟进", "kind": "no_activity", "unit": org.east, "period": "month",
            "task_owner": org.marketing, "params": {"days": 30}, **extra}
    return funnel_rule_save(data=data, by=org.admin)


def _quiet_deal(org):
    """An open deal in East with no stage change or interaction for 60 days: no_activity fires on it."""
    return services.opportunity_create(account=org.acct, name="园区专网", owner=org.rep, amount=Decimal("80000"),
                                       stage=stage("created"), entered_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=60))


@pytest.mark.parametrize("name", ["rep", "peer", "manager", "dept_head", "exec", "marketing", "outsider", "partner"])
def test_only_administrators_and_business_management_read_or_maintain_funnel_rules(org, api_for, client_for, name):
    from django.urls import reverse

    from kamcrm.sales.models import FunnelAlert, FunnelRule

    # given: a rule, and a deal it would fire on
    rule = _rule(org)
    _quiet_deal(org)
    api = api_for(persona(org, name))
    # when / then: every read and every write is refused with the API's error format, as the pages refuse them
    for response in (api.get(RULES), api.get(f"{RULES}{rule.pk}/"), api.get(f"{RULES}?brief=true"),
                     api.post(RULES, _rule_body(org, name="新规则"), format="json"),
                     api.patch(f"{RULES}{rule.pk}/", {"is_active": False}, format="json"),
                     api.post(f"{RULES}{rule.pk}/check-now/")):
        assert response.status_code == 403, response.content
        assert response.json() == {"detail": RULES_REFUSED}
    assert client_for(persona(org, name)).get(reverse("sales_manage:rule_list")).status_code == 403
    assert list(FunnelRule.objects.values_list("name", "is_active")) == [("华东无跟进", True)]
    assert not FunnelAlert.objects.exists()


def test_an_anonymous_caller_is_asked_to_authenticate(org):
    from rest_framework.test import APIClient

    assert APIClient().get(RULES).status_code == 401


@pytest.mark.parametrize("name", ["admin", "bizmgmt"])
def test_maintainers_create_read_change_and_deactivate_rules_through_the_service_and_audit(org, api_for, name):
    from django.contrib.contenttypes.models import ContentType

    from kamcrm.audit.models import ObjectChange
    from kamcrm.sales.models import FunnelRule

    api = api_for(persona(org, name))
    # create
    response = api.post(RULES, _rule_body(org), format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["name"], data["kind"], data["period"], data["params"], data["is_active"]) == (
        "华东无跟进", "no_activity", "month", {"days": 30}, True)
    assert (data["unit"]["id"], data["task_owner"]["username"], data["product_line"]) == (org.east.pk, "marketing",
                                                                                         None)
    pk = data["id"]
    # read: the list (keyset page), the brief list and the detail
    listed = api.get(RULES).json()
    assert [row["id"] for row in listed["results"]] == [pk] and listed["next"] is None
    assert api.get(f"{RULES}?brief=true").json()["results"][0] == {
        "id": pk, "url": f"http://testserver{RULES}{pk}/", "display": "华东无跟进", "name": "华东无跟进",
        "kind": "no_activity", "is_active": True}
    assert api.get(f"{RULES}{pk}/").json() == data
    # change: fields left out keep their values, the parameters included
    response = api.patch(f"{RULES}{pk}/", {"name": "华东三十天无跟进", "unit": None}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["name"], response.json()["unit"], response.json()["params"]) == (
        "华东三十天无跟进", None, {"days": 30})
    response = api.patch(f"{RULES}{pk}/", {"kind": "stale_deals", "params": {"percentile": 80}}, format="json")
    assert response.status_code == 200 and response.json()["params"] == {"percentile": 80}
    # deactivate, as the page does; nothing is deleted and PUT is not offered
    response = api.patch(f"{RULES}{pk}/", {"is_active": False}, format="json")
    assert response.status_code == 200 and response.json()["is_active"] is False
    assert api.delete(f"{RULES}{pk}/").status_code == 405
    assert api.put(f"{RULES}{pk}/", _rule_body(org), format="json").status_code == 405
    rule = FunnelRule.objects.get(pk=pk)
    assert (rule.name, rule.kind, rule.unit, rule.params, rule.is_active) == (
        "华东三十天无跟进", "stale_deals", None, {"percentile": 80}, False)
    # every write is in the audit, by the caller, over the API
    changes = ObjectChange.objects.filter(content_type=ContentType.objects.get_for_model(FunnelRule), object_id=pk)
    assert [(c.action, c.actor_id, c.channel) for c in changes.order_by("id")] == [
        ("create", persona(org, name).pk, "api")] + [("update", persona(org, name).pk, "api")] * 3


def test_rule_validation_errors_name_the_field_with_the_services_messages(org, api_for):
    from kamcrm.org import services as org_services
    from kamcrm.sales.models import FunnelRule

    api = api_for(org.bizmgmt)

    def errors(body, method="post", url=RULES):
        response = getattr(api, method)(url, body, format="json")
        assert response.status_code == 400, response.content
        assert response.json()["detail"] == "Invalid input."
        return response.json()["errors"]

    assert set(errors({"kind": "no_activity"})) == {"name", "task_owner"}
    assert list(errors(_rule_body(org, kind="gut_feeling"))) == ["kind"]
    assert list(errors(_rule_body(org, period="decade"))) == ["period"]
    assert list(errors(_rule_body(org, unit=999999))) == ["unit"]
    # the parameters, checked by funnel_rule_save (the form's messages, on `params`)
    assert errors(_rule_body(org, kind="thin_top")) == {"params": ["This check does not use days."]}
    assert errors(_rule_body(org, params={"days": 0})) == {"params": ["days must be a number above zero."]}
    assert errors(_rule_body(org, params={"days": "30"})) == {"params": ["days must be a number above zero."]}
    assert errors(_rule_body(org, kind="stale_deals", params={"percentile": 120})) == {
        "params": ["percentile must be at most 99."]}
    # the limits the form has are the service's: the API cannot save a rule that would never fire
    assert errors(_rule_body(org, kind="low_conversion", params={"periods": 1})) == {
        "params": ["periods must be at least 3."]}
    assert errors(_rule_body(org, kind="thin_top", params={"k": 0.05})) == {"params": ["k must be at least 0.1."]}
    assert errors(_rule_body(org, kind="low_conversion", params={"stage": "won"})) == {
        "params": ["“won” is not an open stage."]}
    assert list(errors(_rule_body(org, params=[30]))) == ["params"]
    org_services.user_update(user=org.service, data={"is_active": False})
    assert list(errors(_rule_body(org, task_owner=org.service.pk))) == ["task_owner"]
    assert not FunnelRule.objects.exists()
    # a change of check must bring parameters it uses; the rule stays as it was
    rule = _rule(org)
    assert errors({"kind": "thin_top"}, "patch", f"{RULES}{rule.pk}/") == {"params": ["This check does not use days."]}
    rule.refresh_from_db()
    assert (rule.kind, rule.params) == ("no_activity", {"days": 30})


def test_check_now_returns_the_alert_and_fires_once_per_period(org, api_for):
    from kamcrm.activities.models import Task
    from kamcrm.sales.models import FunnelAlert

    deal = _quiet_deal(org)
    rule = _rule(org)
    api = api_for(org.bizmgmt)
    # when: checked now
    response = api.post(f"{RULES}{rule.pk}/check-now/")
    # then: the alert it raised, with the task for the rule's task owner
    assert response.status_code == 200, response.content
    [alert] = response.json()
    task = Task.objects.get()
    assert (alert["rule"], alert["kind"], alert["unit"], alert["opportunity_ids"], alert["task"]) == (
        "华东无跟进", "no_activity", org.east.pk, [deal.pk], task.pk)
    assert task.assignee == org.marketing
    # again in the same period: nothing new
    response = api.post(f"{RULES}{rule.pk}/check-now/")
    assert response.status_code == 200 and response.json() == []
    assert FunnelAlert.objects.count() == 1 and Task.objects.count() == 1
    # a rule that does not fire raises nothing; an unknown rule is a 404
    calm = _rule(org, name="西部无跟进", unit=org.west)
    assert api.post(f"{RULES}{calm.pk}/check-now/").json() == []
    assert api.post(f"{RULES}999999/check-now/").status_code == 404


def test_an_integration_token_reads_rules_with_read_and_checks_them_with_write(org):
    from rest_framework.test import APIClient

    from kamcrm.integrations import services as integration_services

    rule = _rule(org)
    integration = integration_services.integration_create(name="BI", code="bi")
    _token, read_key = integration_services.api_token_create(integration=integration, name="r", scopes=["read"])
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {read_key}")
    assert api.get(RULES).status_code == 200
    assert api.post(f"{RULES}{rule.pk}/check-now/").status_code == 403
    assert api.patch(f"{RULES}{rule.pk}/", {"name": "x"}, format="json").status_code == 403
    _token, write_key = integration_services.api_token_create(integration=integration, name="w",
                                                              scopes=["read", "write"])
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {write_key}")
    assert api.post(f"{RULES}{rule.pk}/check-now/").status_code == 200


def test_the_rule_list_does_not_grow_with_the_rules(org, api_for):
    from kamcrm.products import services as product_services

    api = api_for(org.admin)
    first = _rule(org)
    urls = [RULES, f"{RULES}?brief=true", f"{RULES}{first.pk}/"]
    small = {url: _queries(api, url) for url in urls}
    line = product_services.product_line_create(code="IDC", name="数据中心")
    owners, units = [org.marketing, org.manager, org.dept_head], [org.east, org.west, org.team_e1, None]
    for i in range(20):
        _rule(org, name=f"规则{i:02d}", unit=units[i % 4], task_owner=owners[i % 3],
              product_line=line if i % 2 else None)
    large = {url: _queries(api, url) for url in urls}
    assert large == small
    assert small[RULES] <= 6
    assert len(api.get(RULES).json()["results"]) == 21
    page = api.get(RULES, {"page_size": 10}).json()
    assert len(page["results"]) == 10 and page["next"]
    assert len(api.get(page["next"]).json()["results"]) == 10

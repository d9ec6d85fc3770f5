"""Agreement and order API: visibility through the account for every persona, writes through the services
(404 / 403 / 400 naming the field), the actions (submit, sign, amend, suspend, resume, terminate, renew),
lines, changes and the schedule now and `?as_of=`, upserts by external id (idempotent), orders with
deliveries, integration-token scopes, and query counts that do not grow with the page."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from kamcrm.agreements import services
from kamcrm.agreements.choices import AgreementStatus
from kamcrm.agreements.models import Agreement, AgreementChange, Order
from kamcrm.org.tests.test_visibility import ROLE_MATRIX
from kamcrm.products import services as product_services

pytestmark = pytest.mark.django_db
D = Decimal
URL = "/api/v1/agreements/"
ORDERS = "/api/v1/orders/"


def persona(org, name):
    return getattr(org, "exec_" if name == "exec" else name)


def at(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(10)))


@pytest.fixture
def products(db):
    line = product_services.product_line_create(code="IDC", name="数据中心")
    return [product_services.product_create(line=line, code="IDC-RACK", name="机柜租用", list_price=D("8000")),
            product_services.product_create(line=line, code="IDC-BW", name="带宽", list_price=D("1000"))]


def make(org, products, *, number, account, owner, sign=True, lines=1) -> Agreement:
    agreement = services.agreement_create(by=owner, account=account, number=number, title="机柜租用协议", owner=owner,
                                          start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 12, 31),
                                          lines=[{"product": products[i % 2], "amount": D("120000")}
                                                 for i in range(lines)])
    if sign:
        services.agreement_sign(agreement=agreement, by=owner, at=at(dt.date(2025, 12, 20)))
    agreement.refresh_from_db()
    return agreement


@pytest.fixture
def deals(org, products):
    """One signed agreement on each account: the rep's (East) and the outsider's (West)."""
    return (make(org, products, number="HT-E-1", account=org.acct, owner=org.rep),
            make(org, products, number="HT-W-1", account=org.other, owner=org.outsider))


def ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def body(org, products, **extra) -> dict:
    data = {"account": org.acct.pk, "number": "HT-API-1", "title": "带宽协议", "type": "service",
            "start_date": "2026-01-01", "end_date": "2026-12-31",
            "lines": [{"product_code": "IDC-BW", "quantity": "12", "unit_price": "1000", "rule": "monthly"}]}
    data.update(extra)
    return data


# ---- visibility -------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ROLE_MATRIX)
def test_list_detail_and_reads_follow_the_accounts_visibility(org, deals, api_for, name):
    mine, theirs = deals
    sees_acct, sees_other = ROLE_MATRIX[name][:2]
    api = api_for(persona(org, name))
    assert ids(api.get(URL)) == {pk for pk, seen in ((mine.pk, sees_acct), (theirs.pk, sees_other)) if seen}
    for suffix in ("", "lines/", "changes/", "schedule/"):
        assert api.get(f"{URL}{mine.pk}/{suffix}").status_code == (200 if sees_acct else 404)
        assert api.get(f"{URL}{theirs.pk}/{suffix}").status_code == (200 if sees_other else 404)


@pytest.mark.parametrize("name", ROLE_MATRIX)
def test_actions_need_edit_access_to_the_account(org, deals, api_for, name):
    mine = deals[0]
    sees_acct, _sees_other, edits_acct, _edits_other = ROLE_MATRIX[name]
    response = api_for(persona(org, name)).post(f"{URL}{mine.pk}/suspend/", {"effective": "2026-06-01"},
                                                format="json")
    assert response.status_code == (200 if edits_acct else 403 if sees_acct else 404), response.content
    mine.refresh_from_db()
    assert (mine.status == AgreementStatus.SUSPENDED) == edits_acct


def test_an_outsider_cannot_list_see_change_or_act_on_the_reps_agreement(org, deals, api_for):
    mine = deals[0]
    api = api_for(org.outsider)
    assert mine.pk not in ids(api.get(URL))
    assert api.get(f"{URL}{mine.pk}/").status_code == 404
    assert api.patch(f"{URL}{mine.pk}/", {"title": "改名"}, format="json").status_code == 404
    for action in ("submit", "sign", "amend", "suspend", "resume", "terminate", "renew"):
        assert api.post(f"{URL}{mine.pk}/{action}/", {}, format="json").status_code == 404
    created = api.post(URL, {**body(org, [], account=org.acct.pk)}, format="json")
    assert created.status_code == 400 and "account" in created.json()["errors"]
    assert not Agreement.objects.filter(number="HT-API-1").exists()


def test_a_user_who_sees_but_may_not_edit_gets_403_on_a_change(org, deals, api_for, products):
    mine = deals[0]
    api = api_for(org.bizmgmt)
    assert api.post(f"{URL}{mine.pk}/terminate/", {"effective": "2026-06-01"}, format="json").status_code == 403
    assert api.post(URL, body(org, products), format="json").status_code == 403
    mine.refresh_from_db()
    assert mine.status == AgreementStatus.SIGNED


# ---- create, update, actions ---------------------------------------------------------------------

def test_create_a_draft_then_sign_amend_and_read_the_schedule_as_of_before(org, products, api_for):
    api = api_for(org.rep)
    response = api.post(URL, body(org, products), format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["status"], data["total_value"], data["owner"]["username"]) == ("draft", "12000.00", "rep")
    assert data["lines"][0]["product"]["code"] == "IDC-BW" and data["lines"][0]["amount"] == "12000.00"
    pk = data["id"]
    assert api.get(f"{URL}{pk}/schedule/").json()["months"] == []
    patched = api.patch(f"{URL}{pk}/", {"title": "带宽协议（修订）", "lines": [
        {"product": products[1].pk, "amount": "24000", "rule": "daily"}]}, format="json")
    assert patched.status_code == 200 and patched.json()["total_value"] == "24000.00"
    assert api.post(f"{URL}{pk}/submit/").json()["status"] == "in_approval"
    signed = api.post(f"{URL}{pk}/sign/", {"signed_on": "2026-01-02"}, format="json")
    assert signed.status_code == 200 and signed.json()["signed_on"] == "2026-01-02"
    schedule = api.get(f"{URL}{pk}/schedule/").json()
    assert len(schedule["months"]) == 12 and schedule["total"] == "24000.00" and schedule["months"][0] == "2026-01"
    assert schedule["lines"][0]["product"]["code"] == "IDC-BW" and len(schedule["lines"][0]["amounts"]) == 12
    sign_moment = AgreementChange.objects.get(agreement_id=pk, kind="signed").recorded_at
    line_id = patched.json()["lines"][0]["id"]
    amended = api.post(f"{URL}{pk}/amend/", {"effective": "2026-07-01", "note": "扩容",
                                             "lines": [{"id": line_id, "amount": "30000"}]}, format="json")
    assert amended.status_code == 200, amended.content
    assert amended.json()["total_value"] == "30000.00"
    now = api.get(f"{URL}{pk}/schedule/").json()
    before = api.get(f"{URL}{pk}/schedule/", {"as_of": sign_moment.isoformat()}).json()
    assert (now["total"], before["total"]) == ("30000.00", "24000.00")
    assert now["totals"][:6] == before["totals"][:6] and now["totals"][6] != before["totals"][6]
    changes = api.get(f"{URL}{pk}/changes/").json()
    assert [c["kind"] for c in changes] == ["amended", "signed"] and changes[0]["by"]["username"] == "rep"
    assert api.get(f"{URL}{pk}/schedule/", {"as_of": "morgen"}).status_code == 400
    assert api.get(f"{URL}{pk}/lines/").json()[0]["version"] == 2


def test_validation_errors_name_the_field(org, products, deals, api_for):
    api = api_for(org.rep)
    taken = api.post(URL, body(org, products, number="HT-E-1"), format="json")
    assert taken.status_code == 400 and list(taken.json()["errors"]) == ["number"]
    backwards = api.post(URL, body(org, products, end_date="2025-01-01"), format="json")
    assert backwards.status_code == 400 and backwards.json()["detail"] == "Invalid input."
    late = api.post(URL, body(org, products, lines=[{"product_code": "IDC-BW", "amount": "10",
                                                     "end_date": "2027-06-30"}]), format="json")
    assert late.status_code == 400 and "lines.0.start_date" in late.json()["errors"]
    unknown = api.post(URL, body(org, products, lines=[{"product_code": "NOPE", "amount": "10"}]), format="json")
    assert unknown.status_code == 400 and "lines" in unknown.json()["errors"]
    missing = api.post(URL, {"title": "x"}, format="json")
    assert missing.status_code == 400 and {"account", "number", "start_date", "end_date"} <= set(
        missing.json()["errors"])
    mine = deals[0]
    edit_signed = api.patch(f"{URL}{mine.pk}/", {"title": "改"}, format="json")
    assert edit_signed.status_code == 400 and list(edit_signed.json()["errors"]) == ["status"]
    outside = api.post(f"{URL}{mine.pk}/suspend/", {"effective": "2030-01-01"}, format="json")
    assert outside.status_code == 400 and list(outside.json()["errors"]) == ["effective_date"]
    no_date = api.post(f"{URL}{mine.pk}/terminate/", {}, format="json")
    assert no_date.status_code == 400 and list(no_date.json()["errors"]) == ["effective"]
    resume = api.post(f"{URL}{mine.pk}/resume/", {"effective": "2026-06-01"}, format="json")
    assert resume.status_code == 400 and list(resume.json()["errors"]) == ["status"]
    line = mine.lines.get()
    low = api.post(f"{URL}{mine.pk}/amend/", {"effective": "2026-06-01", "lines": [{"id": line.pk, "amount": "1"}]},
                   format="json")
    assert low.status_code == 400 and list(low.json()["errors"]) == ["amount"]
    assert not mine.changes.exclude(kind="signed").exists()


def test_suspend_resume_terminate_and_renew(org, deals, api_for):
    mine = deals[0]
    api = api_for(org.manager)
    assert api.post(f"{URL}{mine.pk}/suspend/", {"effective": "2026-04-01"}, format="json").json()["status"] == \
        "suspended"
    assert api.post(f"{URL}{mine.pk}/resume/", {"effective": "2026-06-01"}, format="json").json()["status"] == "active"
    renewal = api.post(f"{URL}{mine.pk}/renew/", {"number": "HT-E-2", "end_date": "2027-12-31"}, format="json")
    assert renewal.status_code == 201, renewal.content
    assert (renewal.json()["status"], renewal.json()["renews"]["number"]) == ("draft", "HT-E-1")
    ended = api.post(f"{URL}{mine.pk}/terminate/", {"effective": "2026-10-01", "note": "客户退租"}, format="json")
    assert ended.json()["status"] == "terminated" and ended.json()["end_date"] == "2026-09-30"


def test_list_filters_sorts_and_pages(org, products, deals, api_for):
    for i in range(3):
        make(org, products, number=f"HT-D-{i}", account=org.acct, owner=org.rep, sign=False)
    api = api_for(org.rep)
    assert len(ids(api.get(URL, {"status": "draft"}))) == 3
    assert len(ids(api.get(URL, {"q": "HT-D-1"}))) == 1
    assert len(ids(api.get(URL, {"owner_unit": org.team_e1.pk}))) == 4
    page = api.get(URL, {"sort": "number", "page_size": 2}).json()
    assert [r["number"] for r in page["results"]] == ["HT-D-0", "HT-D-1"] and page["next"]
    nxt = api.get(page["next"]).json()
    assert [r["number"] for r in nxt["results"]] == ["HT-D-2", "HT-E-1"]
    bad = api.get(URL, {"sort": "nonsense"})
    assert bad.status_code == 400 and list(bad.json()["errors"]) == ["sort"]
    brief = api.get(URL, {"brief": "true"}).json()["results"][0]
    assert set(brief) == {"id", "url", "display", "number", "status"}


# ---- upsert by external id --------------------------------------------------------------------------

def test_upsert_by_external_id_is_idempotent(org, products, api_for):
    from kamcrm.customers import services as customer_services

    customer_services.account_update(account=org.acct, data={"source_system": "erp", "external_id": "C-1"})
    api = api_for(org.rep)
    url = f"{URL}by-external-id/erp/A-100/"
    data = {"account_external_id": "C-1", "number": "HT-ERP-100", "title": "ERP 协议", "start_date": "2026-01-01",
            "end_date": "2026-12-31", "owner_username": "rep",
            "lines": [{"product_code": "IDC-RACK", "amount": "60000"}]}
    first = api.put(url, data, format="json")
    assert first.status_code == 201, first.content
    again = api.put(url, data, format="json")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert Agreement.objects.filter(source_system="erp", external_id="A-100").count() == 1
    assert Agreement.objects.get(external_id="A-100").lines.count() == 1
    assert api.get(url).json()["number"] == "HT-ERP-100"
    changed = api.put(url, {"title": "ERP 协议二"}, format="json")
    assert changed.status_code == 200 and changed.json()["title"] == "ERP 协议二"
    clash = api.put(url, {"external_id": "OTHER"}, format="json")
    assert clash.status_code == 400 and list(clash.json()["errors"]) == ["external_id"]
    assert api_for(org.outsider).put(url, data, format="json").status_code == 404
    assert api_for(org.bizmgmt).put(url, data, format="json").status_code == 403


# ---- orders -------------------------------------------------------------------------------------------

def test_orders_are_created_delivered_and_upserted_once(org, products, deals, api_for):
    mine, theirs = deals
    api = api_for(org.rep)
    data = {"account": org.acct.pk, "agreement": mine.pk, "number": "DD-1", "ordered_on": "2026-02-01",
            "lines": [{"product_code": "IDC-RACK", "quantity": "4", "unit_price": "2500"}]}
    created = api.post(ORDERS, data, format="json")
    assert created.status_code == 201, created.content
    order = created.json()
    assert (order["total"], order["status"], order["agreement"]["number"]) == ("10000.00", "open", "HT-E-1")
    line_id = order["lines"][0]["id"]
    too_much = api.post(f"{ORDERS}{order['id']}/deliver/", {"line": line_id, "quantity": "5"}, format="json")
    assert too_much.status_code == 400 and list(too_much.json()["errors"]) == ["quantity"]
    done = api.post(f"{ORDERS}{order['id']}/deliver/", {"line": line_id, "quantity": "4"}, format="json")
    assert done.status_code == 200 and done.json()["status"] == "delivered"
    assert ids(api.get(ORDERS, {"agreement": mine.pk})) == {order["id"]}
    foreign = api.post(ORDERS, {**data, "number": "DD-2", "agreement": theirs.pk}, format="json")
    assert foreign.status_code == 400 and "agreement" in foreign.json()["errors"]
    url = f"{ORDERS}by-external-id/erp/O-1/"
    first = api.put(url, {**data, "number": "DD-3"}, format="json")
    again = api.put(url, {**data, "number": "DD-3"}, format="json")
    assert (first.status_code, again.status_code) == (201, 200) and first.json()["id"] == again.json()["id"]
    assert Order.objects.filter(external_id="O-1").count() == 1
    outsider = api_for(org.outsider)
    assert outsider.get(f"{ORDERS}{order['id']}/").status_code == 404
    assert outsider.post(f"{ORDERS}{order['id']}/deliver/", {"line": line_id, "quantity": "1"},
                         format="json").status_code == 404
    assert api.put(f"{ORDERS}{order['id']}/", data, format="json").status_code == 405


# ---- integration tokens -------------------------------------------------------------------------

def test_an_integration_token_needs_read_for_get_and_write_for_an_action(org, deals):
    from rest_framework.test import APIClient

    from kamcrm.integrations import services as integration_services

    integration = integration_services.integration_create(name="ERP", code="erp")
    _token, read_key = integration_services.api_token_create(integration=integration, name="r", scopes=["read"])
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {read_key}")
    assert api.get(URL).status_code == 200
    assert api.get(f"{URL}{deals[0].pk}/schedule/").status_code == 200
    assert api.post(f"{URL}{deals[0].pk}/suspend/", {"effective": "2026-06-01"}, format="json").status_code == 403
    _token, write_key = integration_services.api_token_create(integration=integration, name="w",
                                                              scopes=["read", "write"])
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {write_key}")
    assert api.post(f"{URL}{deals[0].pk}/suspend/", {"effective": "2026-06-01"}, format="json").status_code == 200


# ---- schema ------------------------------------------------------------------------------------------

def test_the_schema_describes_the_agreement_endpoints(api_for, org):
    from drf_spectacular.validation import validate_schema

    schema = api_for(org.rep).get("/api/v1/schema/", {"format": "json"}).json()
    validate_schema(schema)
    paths = schema["paths"]
    assert {f"{URL}", f"{URL}{{id}}/", f"{URL}{{id}}/schedule/", f"{URL}{{id}}/lines/", f"{URL}{{id}}/changes/",
            f"{URL}{{id}}/amend/", f"{URL}{{id}}/sign/", f"{URL}{{id}}/renew/", ORDERS, f"{ORDERS}{{id}}/deliver/",
            f"{URL}by-external-id/{{source_system}}/{{external_id}}/"} <= set(paths)
    params = {p["name"] for p in paths[URL]["get"]["parameters"]}
    assert {"q", "status", "type", "owner", "owner_unit", "account", "ends_from", "ends_to", "cursor", "sort"} <= params


# ---- rules the services gained with this API (bugs found while building it) ------------------------------

def test_a_drafts_dates_cannot_leave_its_lines_outside(org, products, api_for):
    """Before: PATCH {"end_date"} on a draft kept a line running past the new end, and signing then
    scheduled revenue after the agreement's end."""
    draft = make(org, products, number="HT-DATES", account=org.acct, owner=org.rep, sign=False)
    api = api_for(org.rep)
    response = api.patch(f"{URL}{draft.pk}/", {"end_date": "2026-06-30"}, format="json")
    assert response.status_code == 400 and list(response.json()["errors"]) == ["end_date"]
    draft.refresh_from_db()
    assert draft.end_date == dt.date(2026, 12, 31)
    line = draft.lines.get()
    ok = api.patch(f"{URL}{draft.pk}/", {"end_date": "2026-06-30", "lines": [
        {"product": line.product_id, "amount": "60000", "end_date": "2026-06-30"}]}, format="json")
    assert ok.status_code == 200, ok.content
    assert api.post(f"{URL}{draft.pk}/sign/").status_code == 200
    assert api.get(f"{URL}{draft.pk}/schedule/").json()["months"][-1] == "2026-06"


def test_the_opportunity_must_be_of_the_agreements_account(org, products, api_for):
    from kamcrm.sales import services as sales_services

    theirs = sales_services.opportunity_create(by=org.outsider, account=org.other, name="物流园 IDC", owner=org.outsider)
    mine = sales_services.opportunity_create(by=org.rep, account=org.acct, name="园区机柜", owner=org.rep)
    api = api_for(org.admin)
    refused = api.post(URL, body(org, products, opportunity=theirs.pk, owner=org.rep.pk), format="json")
    assert refused.status_code == 400 and list(refused.json()["errors"]) == ["opportunity"]
    created = api.post(URL, body(org, products, opportunity=mine.pk, owner=org.rep.pk), format="json")
    assert created.status_code == 201 and created.json()["opportunity"]["id"] == mine.pk
    moved = api.patch(f"{URL}{created.json()['id']}/", {"opportunity": theirs.pk}, format="json")
    assert moved.status_code == 400 and list(moved.json()["errors"]) == ["opportunity"]

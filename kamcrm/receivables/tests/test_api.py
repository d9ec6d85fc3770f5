"""Receivables API: invoices (list, detail, create, upsert by external id, void), payments (create with
allocations, allocate an advance, list), the aging, balance, DSO and paid-late reports; visibility
(a rep of another team gets 404 or an empty list), edit rights (403), the error format and scopes."""
from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kamcrm.receivables.models import Invoice, Payment
from kamcrm.receivables.tests.helpers import D, invoice, pay

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()
INVOICES = "/api/v1/invoices/"
PAYMENTS = "/api/v1/payments/"


@pytest.fixture
def book(org):
    late = invoice(org.acct, amount="1000.00", day=TODAY - dt.timedelta(days=75), due=TODAY - dt.timedelta(days=45),
                   number="E-LATE")
    pay(org.acct, "400.00", day=TODAY - dt.timedelta(days=40), allocations=[(late, "400.00")])
    current = invoice(org.acct, amount="500.00", day=TODAY - dt.timedelta(days=5), number="E-NOW")
    west = invoice(org.other, amount="300.00", day=TODAY - dt.timedelta(days=40), due=TODAY - dt.timedelta(days=10),
                   number="W-LATE")
    return {"late": late, "current": current, "west": west}


def numbers(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["number"] for row in response.json()["results"]]


def test_lists_and_details_follow_visibility(api_for, org, book):
    assert numbers(api_for(org.rep).get(INVOICES)) == ["E-NOW", "E-LATE"]
    assert numbers(api_for(org.outsider).get(INVOICES)) == ["W-LATE"]
    assert sorted(numbers(api_for(org.admin).get(INVOICES))) == ["E-LATE", "E-NOW", "W-LATE"]
    outsider = api_for(org.outsider)
    assert outsider.get(f"{INVOICES}{book['late'].pk}/").status_code == 404
    assert outsider.post(f"{INVOICES}{book['late'].pk}/void/").status_code == 404
    assert outsider.patch(f"{INVOICES}{book['late'].pk}/", {"disputed": True}, format="json").status_code == 404
    assert outsider.get(PAYMENTS).json()["results"] == []
    detail = api_for(org.rep).get(f"{INVOICES}{book['late'].pk}/").json()
    assert (detail["total"], detail["paid_amount"], detail["balance"], detail["status"]) == (
        "1000.00", "400.00", "600.00", "partly_paid")
    assert [a["amount"] for a in detail["allocations"]] == ["400.00"]
    assert detail["account"]["id"] == org.acct.pk


def test_list_filters_sorts_and_pages(api_for, org, book):
    api = api_for(org.admin)
    assert sorted(numbers(api.get(INVOICES, {"overdue": "true"}))) == ["E-LATE", "W-LATE"]
    assert numbers(api.get(INVOICES, {"owner_unit": org.west.pk})) == ["W-LATE"]
    assert numbers(api.get(INVOICES, {"as_of": TODAY.isoformat(), "bucket": "d31_60"})) == ["E-LATE"]
    assert numbers(api.get(INVOICES, {"sort": "due"})) == ["E-LATE", "W-LATE", "E-NOW"]
    first = api.get(INVOICES, {"sort": "due", "page_size": 2}).json()
    assert [r["number"] for r in first["results"]] == ["E-LATE", "W-LATE"] and first["next"]
    assert [r["number"] for r in api.get(first["next"]).json()["results"]] == ["E-NOW"]
    bad = api.get(INVOICES, {"bucket": "forever"})
    assert bad.status_code == 400 and "bucket" in bad.json()["errors"]
    assert api.get(INVOICES, {"sort": "colour"}).status_code == 400


def test_create_update_and_refusals_naming_the_field(api_for, org, book):
    api = api_for(org.rep)
    body = {"account": org.acct.pk, "number": "E-API", "invoice_date": TODAY.isoformat(), "amount": "100.00",
            "tax": "13.00"}
    created = api.post(INVOICES, body, format="json")
    assert created.status_code == 201, created.content
    data = created.json()
    assert (data["total"], data["due_date"], data["status"]) == ("113.00", (TODAY + dt.timedelta(days=30)).isoformat(),
                                                                 "open")
    again = api.post(INVOICES, body, format="json")
    assert again.status_code == 400 and again.json()["detail"] == "Invalid input."
    assert list(again.json()["errors"]) == ["number"]
    early = api.post(INVOICES, {**body, "number": "E-API2", "due_date": (TODAY - dt.timedelta(days=1)).isoformat()},
                     format="json")
    assert early.status_code == 400 and list(early.json()["errors"]) == ["due_date"]
    missing = api.post(INVOICES, {"number": "E-API3", "invoice_date": TODAY.isoformat(), "amount": "1"}, format="json")
    assert missing.status_code == 400 and "account" in missing.json()["errors"]
    # an account the rep cannot see answers like one that does not exist; one they see but may not edit is 403
    theirs = api.post(INVOICES, {**body, "number": "W-API", "account": org.other.pk}, format="json")
    assert theirs.status_code == 400 and "account" in theirs.json()["errors"]
    viewer = api_for(org.bizmgmt).post(INVOICES, {**body, "number": "E-BM"}, format="json")
    assert viewer.status_code == 403
    # updates go through the service: the total may not drop below what is paid; the account never changes
    late = book["late"]
    low = api.patch(f"{INVOICES}{late.pk}/", {"amount": "100.00"}, format="json")
    assert low.status_code == 400 and list(low.json()["errors"]) == ["amount"]
    ok = api.patch(f"{INVOICES}{late.pk}/", {"disputed": True}, format="json")
    assert ok.status_code == 200 and ok.json()["disputed"] is True
    read_only = api.patch(f"{INVOICES}{late.pk}/", {"status": "paid", "paid_amount": "1000.00"}, format="json")
    assert read_only.status_code == 200 and read_only.json()["status"] == "partly_paid"


def test_upsert_by_external_id_is_idempotent(api_for, org):
    api = api_for(org.rep)
    org.acct.source_system, org.acct.external_id = "erp", "C-1"
    org.acct.save()
    url = f"{INVOICES}by-external-id/erp/INV-9/"
    body = {"account_external_id": "C-1", "number": "ERP-INV-9", "invoice_date": TODAY.isoformat(),
            "amount": "250.00", "disputed": False}
    first = api.put(url, body, format="json")
    assert first.status_code == 201, first.content
    second = api.put(url, body, format="json")
    assert second.status_code == 200 and second.json()["id"] == first.json()["id"]
    changed = api.put(url, {"amount": "260.00"}, format="json")
    assert changed.status_code == 200 and changed.json()["total"] == "260.00"
    assert api.get(url).json()["number"] == "ERP-INV-9"
    assert Invoice.objects.filter(source_system="erp", external_id="INV-9").count() == 1
    clash = api.put(url, {"external_id": "OTHER"}, format="json")
    assert clash.status_code == 400 and "external_id" in clash.json()["errors"]
    assert api_for(org.outsider).get(url).status_code == 404


def test_void_only_unpaid_invoices(api_for, org, book):
    api = api_for(org.rep)
    refused = api.post(f"{INVOICES}{book['late'].pk}/void/")
    assert refused.status_code == 400 and list(refused.json()["errors"]) == ["status"]
    voided = api.post(f"{INVOICES}{book['current'].pk}/void/")
    assert voided.status_code == 200 and voided.json()["status"] == "void"


def test_payments_with_allocations_partial_over_and_advance(api_for, org, book):
    api = api_for(org.rep)
    late, current = book["late"], book["current"]
    response = api.post(PAYMENTS, {"account": org.acct.pk, "received_on": TODAY.isoformat(), "amount": "1000.00",
                                   "method": "transfer", "reference": "BK-77",
                                   "allocate": [{"invoice": late.pk}, {"invoice_number": "E-NOW", "amount": "100.00"}]},
                        format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["allocated"], data["unallocated"]) == ("700.00", "300.00")
    assert sorted((a["invoice"]["number"], a["amount"]) for a in data["allocations"]) == [
        ("E-LATE", "600.00"), ("E-NOW", "100.00")]
    late.refresh_from_db()
    current.refresh_from_db()
    assert (late.status, late.settled_on, current.status) == ("paid", TODAY, "partly_paid")
    # the advance pays the rest of the current invoice later
    allocated = api.post(f"{PAYMENTS}{data['id']}/allocate/", {"allocate": [{"invoice": current.pk}]}, format="json")
    assert allocated.status_code == 200 and allocated.json()["unallocated"] == "0.00"
    current.refresh_from_db()
    assert (current.status, current.balance) == ("partly_paid", D("100.00"))
    # refusals name the allocation; nothing is written
    over = api.post(PAYMENTS, {"account": org.acct.pk, "received_on": TODAY.isoformat(), "amount": "50.00",
                               "allocate": [{"invoice": current.pk, "amount": "50.00"},
                                            {"invoice": current.pk, "amount": "60.00"}]}, format="json")
    assert over.status_code == 400 and list(over.json()["errors"]) == ["allocations[2]"]
    unknown = api.post(PAYMENTS, {"account": org.acct.pk, "received_on": TODAY.isoformat(), "amount": "5.00",
                                  "allocate": [{"invoice_number": "W-LATE"}]}, format="json")
    assert unknown.status_code == 400 and "allocate" in unknown.json()["errors"]
    assert Payment.objects.count() == 2
    auto = api.post(PAYMENTS, {"account": org.acct.pk, "received_on": TODAY.isoformat(), "amount": "150.00",
                               "auto_allocate": True}, format="json")
    assert auto.status_code == 201 and auto.json()["unallocated"] == "50.00"
    listed = api.get(PAYMENTS).json()["results"]
    assert len(listed) == 3 and listed[0]["received_on"] == TODAY.isoformat()
    assert api.get(PAYMENTS, {"unallocated": "true"}).json()["results"][0]["unallocated"] == "50.00"
    # another team's rep may not record a payment on this account
    refused = api_for(org.outsider).post(PAYMENTS, {"account": org.acct.pk, "received_on": TODAY.isoformat(),
                                                    "amount": "1.00"}, format="json")
    assert refused.status_code == 400 and "account" in refused.json()["errors"]


def test_reports(api_for, org, book):
    api = api_for(org.admin)
    aging = api.get("/api/v1/receivables/aging/", {"group_by": "account"}).json()
    buckets = {b["code"]: (b["count"], b["amount"]) for b in aging["totals"]["buckets"]}
    assert buckets == {"current": (1, "500.00"), "d1_30": (1, "300.00"), "d31_60": (1, "600.00"),
                       "d61_90": (0, "0.00"), "d90_plus": (0, "0.00")}
    assert [(r["id"], r["total"]) for r in aging["rows"]] == [(org.acct.pk, "1100.00"), (org.other.pk, "300.00")]
    past = api.get("/api/v1/receivables/aging/", {"as_of": (TODAY - dt.timedelta(days=42)).isoformat()}).json()
    assert past["totals"]["total"] == "1000.00"  # before the 400.00 was received, before E-NOW and W-LATE existed
    assert api.get("/api/v1/receivables/aging/", {"group_by": "colour"}).status_code == 400
    mine = api_for(org.outsider).get("/api/v1/receivables/aging/").json()
    assert mine["totals"]["total"] == "300.00"

    balances = api.get("/api/v1/receivables/balances/").json()
    assert [(r["account"]["id"], r["open"], r["overdue"]) for r in balances] == [
        (org.acct.pk, "1100.00", "600.00"), (org.other.pk, "300.00", "300.00")]
    assert api_for(org.outsider).get("/api/v1/receivables/balances/", {"account": org.acct.pk}).json() == []

    dso = api.get("/api/v1/receivables/dso/", {"days": 90}).json()
    assert (dso["receivables"], dso["billed"], dso["value"]) == ("1400.00", "1800.00", "70.0")
    late = api.get("/api/v1/receivables/paid-late/").json()
    assert (late["settled"], late["late"]) == (0, 0)


def test_scopes_of_integration_tokens(org, book):
    from rest_framework.test import APIClient

    from kamcrm.integrations import services as integration_services

    integration = integration_services.integration_create(name="ERP", code="erp")
    _token, read_key = integration_services.api_token_create(integration=integration, name="r", scopes=["read"])
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {read_key}")
    assert api.get(INVOICES).status_code == 200
    assert api.get("/api/v1/receivables/aging/").status_code == 200
    assert api.post(PAYMENTS, {"account": org.acct.pk, "received_on": TODAY.isoformat(), "amount": "1"},
                    format="json").status_code == 403


def test_the_list_does_not_grow_in_queries(api_for, org, book):
    api = api_for(org.rep)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert api.get(INVOICES).status_code == 200
        return len(ctx.captured_queries)

    before = count()
    for i in range(8):
        inv = invoice(org.acct, amount="10.00", number=f"Q-{i}")
        pay(org.acct, "4.00", allocations=[(inv, "4.00")])
        pay(org.acct, "3.00", allocations=[(inv, "3.00")])
    assert count() == before

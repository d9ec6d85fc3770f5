"""The inbound event feed: POST /api/v1/events/ lands events on the account timeline, idempotently."""
from decimal import Decimal

import pytest
from django.urls import reverse

from kamcrm.audit.models import ObjectChange, TimelineEvent
from kamcrm.customers import services as customer_services
from kamcrm.integrations.models import InboundEvent
from kamcrm.integrations.services import inbound_event_facts

URL = "/api/v1/events/"


@pytest.fixture
def feed(make_token, bearer):
    _token, plain = make_token("events")
    return bearer(plain)


def body(org, **changes):
    data = {"idempotency_key": "bill-2026-10-0001", "type": "bill_issued", "occurred_at": "2026-11-01T10:00:00+08:00",
            "account": org.acct.pk, "summary": "2026年10月账单", "amount": "123.45", "data": {"bill_no": "B-1"}}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not ...}


def test_it_stores_an_event_and_puts_it_on_the_account_timeline(org, integration, feed):
    # when
    response = feed.post(URL, body(org))
    # then
    assert response.status_code == 201, response.content
    event = InboundEvent.objects.get()
    assert (event.integration, event.account, event.type, event.amount, event.currency) == (
        integration, org.acct, "bill_issued", Decimal("123.45"), "CNY")
    assert response.json()["id"] == event.pk and response.json()["integration"] == "billing"
    timeline = TimelineEvent.objects.get(pk=event.timeline_event_id)
    assert (timeline.account_id, timeline.kind, timeline.summary, timeline.actor_id) == (
        org.acct.pk, "bill_issued", "2026年10月账单", integration.user.pk)
    assert TimelineEvent.objects.filter(account=org.acct).exclude(kind="record_created").count() == 1
    # the write is audited as an API write by the integration's service user
    change = ObjectChange.objects.get(content_type__model="inboundevent", object_id=event.pk)
    assert (change.action, change.channel, change.actor_id, change.account_id) == (
        "create", "api", integration.user.pk, org.acct.pk)


def test_a_replay_returns_the_original_with_200_and_writes_nothing(org, feed):
    # given
    first = feed.post(URL, body(org))
    counts = (InboundEvent.objects.count(), TimelineEvent.objects.count())
    # when: the same event again, with the same meaning written differently
    again = feed.post(URL, body(org, amount=123.45, occurred_at="2026-11-01T02:00:00Z"))
    # then
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert (InboundEvent.objects.count(), TimelineEvent.objects.count()) == counts
    assert ObjectChange.objects.filter(content_type__model="inboundevent").count() == 1


def test_the_same_key_with_a_different_body_is_a_409_naming_the_key(org, feed):
    feed.post(URL, body(org))
    response = feed.post(URL, body(org, amount="999.00"))
    assert response.status_code == 409
    assert "idempotency_key" in response.json()["errors"]
    assert InboundEvent.objects.get().amount == Decimal("123.45")


def test_keys_are_per_integration(org, feed, bearer):
    from kamcrm.integrations import services

    other = services.integration_create(name="业务支撑系统", code="bss")
    _token, plain = services.api_token_create(integration=other, name="x", scopes="events")
    assert feed.post(URL, body(org)).status_code == 201
    assert bearer(plain).post(URL, body(org)).status_code == 201
    assert InboundEvent.objects.count() == 2


@pytest.mark.parametrize(("changes", "field"), [
    ({"idempotency_key": ...}, "idempotency_key"),
    ({"idempotency_key": "x" * 101}, "idempotency_key"),
    ({"type": ...}, "type"),
    ({"type": "order_placed"}, "type"),
    ({"occurred_at": ...}, "occurred_at"),
    ({"occurred_at": "yesterday"}, "occurred_at"),
    ({"summary": ...}, "summary"),
    ({"summary": ""}, "summary"),
    ({"amount": "12.3.4"}, "amount"),
    ({"amount": "1.234"}, "amount"),
    ({"currency": "rmb"}, "currency"),
    ({"data": [1, 2]}, "data"),
    ({"account": ...}, "account"),
    ({"account": "abc"}, "account"),
    ({"account_external_id": "C-1"}, "account"),  # both account and account_external_id
])
def test_it_names_every_invalid_field(org, feed, changes, field):
    response = feed.post(URL, body(org, **changes))
    assert response.status_code == 400
    assert field in response.json()["errors"], response.json()
    assert not InboundEvent.objects.exists()


def test_it_finds_the_account_by_external_id_in_the_token_source_system(org, feed):
    # given
    customer_services.account_update(account=org.other, data={"source_system": "billing", "external_id": "C-9"})
    # when
    found = feed.post(URL, body(org, account=..., account_external_id="C-9"))
    missing = feed.post(URL, body(org, idempotency_key="k-2", account=..., account_external_id="C-404"))
    # then
    assert found.status_code == 201 and found.json()["account"] == org.other.pk
    assert missing.status_code == 404 and "account_external_id" in missing.json()["errors"]


def test_an_unknown_account_id_is_a_404_naming_the_field(org, feed):
    response = feed.post(URL, body(org, account=999_999))
    assert response.status_code == 404
    assert "account" in response.json()["errors"]


def test_the_event_appears_on_the_account_timeline_partial(org, feed, client_for):
    feed.post(URL, body(org, type="complaint_logged", amount=..., summary="客户投诉：账单金额有误"))
    page = client_for(org.rep).get(reverse("customers:account_timeline", args=[org.acct.pk]), secure=True)
    assert page.status_code == 200
    html = page.content.decode()
    assert "客户投诉：账单金额有误" in html
    assert 'data-kind="complaint_logged"' in html and "complaint logged" in html
    # the 360 page and its history (which lists the audited event) render too
    client = client_for(org.rep)
    assert "客户投诉：账单金额有误" in client.get(reverse("customers:account", args=[org.acct.pk]), secure=True).content.decode()
    assert client.get(reverse("customers:account_history", args=[org.acct.pk]), secure=True).status_code == 200


def test_a_person_posts_only_for_accounts_they_may_edit(org, api_for):
    # the rep edits their own account, not the outsider's; a read-only sharing does not suffice
    rep = api_for(org.rep)
    assert rep.post(URL, body(org)).status_code == 201
    assert rep.post(URL, body(org, idempotency_key="k-2", account=org.other.pk)).status_code == 404
    assert api_for(org.bizmgmt).post(URL, body(org, idempotency_key="k-3")).status_code == 404  # sees, may not edit
    event = InboundEvent.objects.get()
    assert (event.integration, event.posted_by) == (None, org.rep)
    # a replay by the same person is recognised as one
    assert rep.post(URL, body(org)).status_code == 200


def test_a_person_gives_the_source_system_of_an_external_id(org, api_for):
    customer_services.account_update(account=org.acct, data={"source_system": "crm-old", "external_id": "A-1"})
    rep = api_for(org.rep)
    no_system = rep.post(URL, body(org, account=..., account_external_id="A-1"))
    with_system = rep.post(URL, body(org, account=..., account_external_id="A-1", source_system="crm-old"))
    assert no_system.status_code == 400 and "source_system" in no_system.json()["errors"]
    assert with_system.status_code == 201


def test_the_facts_row_of_an_event_carries_what_reports_need(org, feed):
    feed.post(URL, body(org, type="payment_received", amount="50.00"))
    feed.post(URL, body(org, type="payment_received", amount="50.00"))  # a replay stores nothing
    (event,) = InboundEvent.objects.all()
    facts = inbound_event_facts(event)
    assert (facts["type"], facts["amount"], facts["account_id"], facts["source_system"]) == (
        "payment_received", Decimal("50.00"), org.acct.pk, "billing")


def test_two_posts_of_one_key_at_once_store_one_event(org, feed, monkeypatch):
    # given: the first post is stored; the second did its look-up before that (a race)
    from kamcrm.integrations import services

    assert feed.post(URL, body(org)).status_code == 201
    real = services._existing
    calls = []

    def late_lookup(**kwargs):
        calls.append(kwargs)
        return None if len(calls) == 1 else real(**kwargs)

    monkeypatch.setattr(services, "_existing", late_lookup)
    # when: the insert hits the unique constraint
    response = feed.post(URL, body(org))
    changed = feed.post(URL, body(org, summary="other"))
    # then
    assert response.status_code == 200 and len(calls) >= 2
    assert changed.status_code == 409
    assert InboundEvent.objects.count() == 1

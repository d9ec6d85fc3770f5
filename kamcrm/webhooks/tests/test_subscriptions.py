"""Subscriptions: the SSRF guard at save, who may allow private targets, and the administrators' UI."""
import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from kamcrm.customers import services as customers
from kamcrm.webhooks import services
from kamcrm.webhooks.delivery import deliver_due
from kamcrm.webhooks.models import Delivery, DeliveryStatus, WebhookSubscription

PRIVATE_TARGETS = [
    "http://127.0.0.1/hook",
    "http://10.0.0.1/hook",
    "http://192.168.1.10:8080/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://0.0.0.0/hook",
    "http://224.0.0.1/hook",
    "http://localhost:8000/hook",
]


def create(by, url, **extra):
    return services.subscription_create(by=by, name="Hook", target_url=url, event_types=["account.created"], **extra)


@pytest.mark.parametrize("url", PRIVATE_TARGETS)
def test_it_refuses_private_targets_at_save(org, url):
    with pytest.raises(ValidationError) as excinfo:
        create(org.admin, url)
    assert "target_url" in excinfo.value.message_dict
    assert WebhookSubscription.objects.count() == 0


@pytest.mark.parametrize("url", ["ftp://93.184.216.34/x", "file:///etc/passwd", "gopher://93.184.216.34/",
                                 "http://user:pw@93.184.216.34/", "http://"])
def test_it_refuses_other_schemes_and_malformed_urls(org, url):
    with pytest.raises(ValidationError) as excinfo:
        create(org.admin, url)
    assert "target_url" in excinfo.value.message_dict


def test_it_accepts_a_public_address(org):
    sub = create(org.admin, "https://93.184.216.34/hooks")
    assert sub.secret and len(sub.secret) >= 32
    assert sub.created_by == org.admin


def test_it_accepts_private_targets_when_an_administrator_allows_them(org):
    sub = create(org.admin, "http://127.0.0.1:9/hook", allow_private_targets=True)
    assert sub.allow_private_targets


def test_it_refuses_private_targets_on_edit(org):
    sub = create(org.admin, "https://93.184.216.34/hooks")
    with pytest.raises(ValidationError) as excinfo:
        services.subscription_update(subscription=sub, data={"target_url": "http://10.1.2.3/"}, by=org.admin)
    assert "target_url" in excinfo.value.message_dict
    sub.refresh_from_db()
    assert sub.target_url == "https://93.184.216.34/hooks"


def test_it_lets_only_administrators_allow_private_targets(org):
    with pytest.raises(ValidationError) as excinfo:
        create(org.rep, "http://127.0.0.1:9/hook", allow_private_targets=True)
    assert "allow_private_targets" in excinfo.value.message_dict
    sub = create(org.rep, "https://93.184.216.34/hooks")
    with pytest.raises(ValidationError) as excinfo:
        services.subscription_update(subscription=sub, data={"allow_private_targets": True}, by=org.manager)
    assert "allow_private_targets" in excinfo.value.message_dict


def test_it_refuses_unknown_or_no_event_types(org):
    for types, in ([[]], [["account.deleted"]]):
        with pytest.raises(ValidationError) as excinfo:
            services.subscription_create(by=org.admin, name="x", target_url="https://93.184.216.34/", event_types=types)
        assert "event_types" in excinfo.value.message_dict


# --- UI ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["webhooks:subscription_list", "webhooks:subscription_add"])
def test_it_forbids_non_administrators(org, client_for, name):
    assert client_for(org.manager).get(reverse(name)).status_code == 403


def test_it_forbids_non_administrators_on_a_subscription(org, client_for):
    sub = create(org.admin, "https://93.184.216.34/hooks")
    client = client_for(org.rep)
    assert client.get(reverse("webhooks:subscription", args=[sub.pk])).status_code == 403
    assert client.post(reverse("webhooks:subscription_secret_rotate", args=[sub.pk])).status_code == 403
    assert WebhookSubscription.objects.get().secret == sub.secret


def test_it_lists_and_shows_an_empty_state(org, client_for):
    client = client_for(org.admin)
    response = client.get(reverse("webhooks:subscription_list"))
    assert response.status_code == 200 and b'data-testid="empty"' in response.content
    create(org.admin, "https://93.184.216.34/hooks")
    response = client.get(reverse("webhooks:subscription_list"))
    assert response.content.count(b'data-testid="subscription-row"') == 1


def test_it_adds_a_subscription_through_the_form(org, client_for):
    client = client_for(org.admin)
    response = client.post(reverse("webhooks:subscription_add"), {
        "name": "BI", "target_url": "https://93.184.216.34/in", "event_types": ["account.created", "contact.changed"],
        "active": "on"})
    sub = WebhookSubscription.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("webhooks:subscription", args=[sub.pk])
    assert sub.event_types == ["account.created", "contact.changed"] and sub.active
    assert not sub.allow_private_targets


def test_it_names_the_field_when_the_form_target_is_private(org, client_for):
    response = client_for(org.admin).post(reverse("webhooks:subscription_add"), {
        "name": "BI", "target_url": "http://169.254.169.254/", "event_types": ["account.created"]})
    assert response.status_code == 200
    assert b'data-field-error="target_url"' in response.content
    assert WebhookSubscription.objects.count() == 0


def test_it_edits_a_subscription(org, client_for):
    sub = create(org.admin, "https://93.184.216.34/hooks")
    response = client_for(org.admin).post(reverse("webhooks:subscription_edit", args=[sub.pk]), {
        "name": "Renamed", "target_url": "https://93.184.216.35/hooks", "event_types": ["contact.created"]})
    assert response.status_code == 302
    sub.refresh_from_db()
    assert (sub.name, sub.target_url, sub.event_types, sub.active) == (
        "Renamed", "https://93.184.216.35/hooks", ["contact.created"], False)


def test_it_rotates_the_secret(org, client_for):
    sub = create(org.admin, "https://93.184.216.34/hooks")
    client = client_for(org.admin)
    assert sub.secret.encode() in client.get(reverse("webhooks:subscription", args=[sub.pk])).content
    response = client.post(reverse("webhooks:subscription_secret_rotate", args=[sub.pk]))
    assert response.status_code == 302
    assert WebhookSubscription.objects.get().secret != sub.secret


def test_it_shows_the_delivery_log_and_redelivers(org, client_for, subscription, receiver, django_assert_max_num_queries):
    # given: 60 deliveries, the newest of which failed
    for i in range(59):
        customers.account_update(account=org.acct, data={"phone": f"021-{i:04d}"})
    deliver_due(limit=1000)
    customers.account_update(account=org.acct, data={"phone": "021-9999"})
    receiver.status = 500
    deliver_due()
    failed = Delivery.objects.get(status=DeliveryStatus.FAILED)
    client = client_for(org.admin)
    url = reverse("webhooks:subscription", args=[subscription.pk])
    # when
    with django_assert_max_num_queries(10):
        response = client.get(url)
    # then: a page of 50, newest first, the failed one with a redeliver button
    assert response.content.count(b'data-testid="delivery-row"') == 50
    assert b'data-testid="page-next"' in response.content
    assert response.content.count(b'data-testid="redeliver"') == 1
    assert b"HTTP 500" in response.content
    failed_only = client.get(url, {"status": "failed"})
    assert failed_only.content.count(b'data-testid="delivery-row"') == 1
    # when: redelivered
    response = client.post(reverse("webhooks:delivery_redeliver", args=[subscription.pk, failed.pk]))
    # then
    assert response.status_code == 302
    failed.refresh_from_db()
    assert failed.status == DeliveryStatus.PENDING
    receiver.status = 200
    deliver_due()
    failed.refresh_from_db()
    assert failed.status == DeliveryStatus.DELIVERED


def test_it_lists_subscriptions_in_few_queries(org, client_for, django_assert_max_num_queries):
    for i in range(30):
        create(org.admin, f"https://93.184.216.{i + 1}/hooks")
    client = client_for(org.admin)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("webhooks:subscription_list"))
    assert response.content.count(b'data-testid="subscription-row"') == 30

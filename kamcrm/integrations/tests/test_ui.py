"""Integrations UI (administrators only), the token command and the OpenAPI schema."""
import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from kamcrm.integrations import selectors, services
from kamcrm.integrations.models import ApiToken, Integration


def urls(integration, token):
    return [
        ("get", reverse("integrations:integration_list")),
        ("get", reverse("integrations:integration_add")),
        ("post", reverse("integrations:integration_add")),
        ("get", reverse("integrations:integration", args=[integration.pk])),
        ("get", reverse("integrations:token_add", args=[integration.pk])),
        ("post", reverse("integrations:token_add", args=[integration.pk])),
        ("post", reverse("integrations:token_revoke", args=[integration.pk, token.pk])),
    ]


@pytest.mark.parametrize("persona", ["exec_", "dept_head", "rep", "service", "partner"])
def test_non_administrators_get_403_everywhere(org, integration, make_token, client_for, persona):
    token, _plain = make_token("read")
    client = client_for(getattr(org, persona))
    for method, url in urls(integration, token):
        assert getattr(client, method)(url, secure=True).status_code == 403, url
    token.refresh_from_db()
    assert token.revoked_at is None


def test_anonymous_users_are_sent_to_sign_in(org, client):
    response = client.get(reverse("integrations:integration_list"), secure=True)
    assert response.status_code == 302 and "/login" in response["Location"]


def test_an_administrator_adds_an_integration_with_its_service_user(org, client_for):
    # when
    response = client_for(org.admin).post(reverse("integrations:integration_add"), {
        "name": "业务支撑系统", "code": "bss", "description": "", "contact": org.admin.pk, "is_active": "on"},
        secure=True)
    # then
    integration = Integration.objects.get(code="bss")
    assert response.status_code == 302 and response["Location"] == reverse("integrations:integration",
                                                                           args=[integration.pk])
    assert (integration.user.username, integration.user.role, integration.user.is_staff) == (
        "integration-bss", "administrator", False)


@pytest.mark.parametrize(("data", "field"), [
    ({"name": "", "code": "crm"}, "name"),
    ({"name": "x", "code": "not a slug"}, "code"),
    ({"name": "x", "code": "billing"}, "code"),  # taken: found by the service
])
def test_the_integration_form_names_bad_fields(org, integration, client_for, data, field):
    response = client_for(org.admin).post(reverse("integrations:integration_add"), data, secure=True)
    assert response.status_code == 200
    assert f'data-field-error="{field}"' in response.content.decode()
    assert Integration.objects.count() == 1


def test_a_new_token_is_shown_once_and_stored_as_a_hash(org, integration, client_for):
    client = client_for(org.admin)
    # when
    response = client.post(reverse("integrations:token_add", args=[integration.pk]), {
        "name": "nightly bills", "scopes": ["read", "events"], "rate_limit_per_minute": "60"}, secure=True)
    # then
    assert response.status_code == 200
    plain = response.context["plain"]
    assert plain in response.content.decode() and response["Cache-Control"] == "no-store"
    token = ApiToken.objects.get()
    assert (token.scopes, token.rate_limit_per_minute, token.created_by) == (["events", "read"], 60, org.admin)
    assert token.token_hash == services.hash_token(plain)
    detail = client.get(reverse("integrations:integration", args=[integration.pk]), secure=True).content.decode()
    assert token.prefix in detail and plain not in detail


def test_the_token_form_names_bad_fields(org, integration, client_for):
    response = client_for(org.admin).post(reverse("integrations:token_add", args=[integration.pk]),
                                          {"name": "x", "scopes": ["root"], "rate_limit_per_minute": "0"}, secure=True)
    html = response.content.decode()
    assert 'data-field-error="scopes"' in html and 'data-field-error="rate_limit_per_minute"' in html
    assert not ApiToken.objects.exists()


def test_an_administrator_revokes_a_token_by_post_only(org, integration, make_token, client_for, bearer):
    token, plain = make_token("read")
    client = client_for(org.admin)
    url = reverse("integrations:token_revoke", args=[integration.pk, token.pk])
    assert client.get(url, secure=True).status_code == 405
    response = client.post(url, secure=True)
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert bearer(plain).get("/api/v1/accounts/").status_code == 401


def test_the_received_events_are_keyset_paged(org, integration, make_token, bearer):
    _token, plain = make_token("events")
    api = bearer(plain)
    for n in range(5):
        assert api.post("/api/v1/events/", {"idempotency_key": f"k{n}", "type": "usage_recorded",
                                             "occurred_at": "2026-11-01T10:00:00Z", "account": org.acct.pk,
                                             "summary": f"usage {n}"}).status_code == 201
    first = selectors.integration_events(integration=integration, page_size=2)
    second = selectors.integration_events(integration=integration, cursor=first.next_cursor, page_size=2)
    third = selectors.integration_events(integration=integration, cursor=second.next_cursor, page_size=2)
    seen = [e.summary for page in (first, second, third) for e in page.items]
    assert seen == [f"usage {n}" for n in (4, 3, 2, 1, 0)] and third.next_cursor is None


def test_the_integration_page_shows_events_in_few_queries(org, integration, make_token, bearer, client_for,
                                                         django_assert_max_num_queries):
    _token, plain = make_token("events")
    for n in range(12):
        bearer(plain).post("/api/v1/events/", {"idempotency_key": f"k{n}", "type": "payment_received",
                                               "occurred_at": "2026-11-01T10:00:00Z", "account": org.acct.pk,
                                               "summary": f"payment {n}", "amount": "10.00"})
    for _ in range(3):
        services.api_token_create(integration=integration, name="more", scopes="read", by=org.admin)
    client = client_for(org.admin)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("integrations:integration", args=[integration.pk]), secure=True)
    assert response.status_code == 200
    assert response.content.decode().count('data-testid="event-row"') == 12
    assert response.content.decode().count('data-testid="token-row"') == 4
    with django_assert_max_num_queries(10):
        listing = client.get(reverse("integrations:integration_list"), secure=True)
    assert 'data-testid="integration-row"' in listing.content.decode()


def test_the_token_command_prints_a_working_token(org, integration, bearer):
    out = io.StringIO()
    call_command("token_create", "--integration", "billing", "--scopes", "read,events", stdout=out, stderr=io.StringIO())
    plain = out.getvalue().strip()
    assert ApiToken.objects.get().scopes == ["events", "read"]
    assert bearer(plain).get("/api/v1/accounts/").status_code == 200


@pytest.mark.parametrize(("args", "flag"), [
    (["--integration", "nope", "--scopes", "read"], "--integration"),
    (["--integration", "billing", "--scopes", "read,root"], "--scopes"),
    (["--integration", "billing", "--scopes", "read", "--expires", "soon"], "--expires"),
])
def test_the_token_command_names_bad_options(org, integration, args, flag):
    with pytest.raises(CommandError, match=flag):
        call_command("token_create", *args, stdout=io.StringIO(), stderr=io.StringIO())


def test_the_schema_still_validates_and_describes_the_feed(tmp_path, db):
    # the same as `manage.py spectacular --validate --fail-on-warn`
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
    text = (tmp_path / "schema.yml").read_text()
    assert "/api/v1/events/" in text and "integrationToken" in text and "InboundEventTypeEnum" in text

"""Integration tokens: bearer authentication, scopes, the per-token rate limit and the audit actor."""
import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from kamcrm.audit.models import ObjectChange
from kamcrm.integrations import services
from kamcrm.integrations.models import ApiToken

EVENT = {"idempotency_key": "k-1", "type": "bill_issued", "occurred_at": "2026-11-01T10:00:00+08:00",
         "summary": "2026-10 bill", "amount": "123.45"}


def test_it_authenticates_a_valid_token_as_the_integration_service_user(org, integration, make_token, bearer):
    # given
    token, plain = make_token("read")
    # when
    response = bearer(plain).get("/api/v1/accounts/")
    # then: the service user sees the whole company
    assert response.status_code == 200
    assert {row["id"] for row in response.json()["results"]} >= {org.acct.pk, org.other.pk}
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_it_stores_only_a_hash_and_a_short_prefix(org, make_token):
    token, plain = make_token("read")
    stored = ApiToken.objects.values().get(pk=token.pk)
    assert stored["token_hash"] == hashlib.sha256(plain.encode()).hexdigest()
    assert stored["prefix"] == plain[:12] and len(plain) > 40
    assert not any(plain in str(value) for value in stored.values())


@pytest.mark.parametrize(("state", "message"), [
    ("wrong", "Unknown API token."),
    ("revoked", "This API token has been revoked."),
    ("expired", "This API token has expired."),
    ("inactive", "The integration of this API token is inactive."),
])
def test_it_refuses_a_bad_token_with_401_and_a_clear_message(org, integration, make_token, bearer, state, message):
    # given
    token, plain = make_token("read")
    if state == "wrong":
        plain = plain[:-3] + "xyz"
    elif state == "revoked":
        services.api_token_revoke(token=token)
    elif state == "expired":
        ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    else:
        services.integration_update(integration=integration, data={"is_active": False})
    # when
    response = bearer(plain).get("/api/v1/accounts/")
    # then
    assert response.status_code == 401
    assert response.json()["detail"] == message


def test_personal_tokens_sessions_and_anonymous_requests_work_as_before(org, token_api, api_for, anon_api):
    assert token_api(org.rep).get("/api/v1/accounts/").status_code == 200
    assert api_for(org.rep).post("/api/v1/accounts/", {"name": "合肥某科技有限公司", "region": org.east.pk}).status_code == 201
    anonymous = anon_api.get("/api/v1/accounts/")
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize(("scopes", "method", "path", "body", "missing"), [
    ("write", "get", "/api/v1/accounts/", None, "read"),
    ("read", "post", "/api/v1/accounts/", {"name": "新客户", "region": None}, "write"),
    ("read,events", "patch", "/api/v1/accounts/{acct}/", {"phone": "1"}, "write"),
    ("read,write", "post", "/api/v1/events/", EVENT, "events"),
    # an administrator-only endpoint with its own permission classes still checks the scope
    ("read,events", "patch", "/api/v1/users/{rep}/", {"phone": "1"}, "write"),
])
def test_it_refuses_a_request_outside_the_token_scopes_with_403_naming_the_scope(
        org, make_token, bearer, scopes, method, path, body, missing):
    # given
    _token, plain = make_token(scopes)
    path = path.format(acct=org.acct.pk, rep=org.rep.pk)
    if body is not None and "region" in body:
        body = {**body, "region": org.east.pk}
    if body is EVENT:
        body = {**EVENT, "account": org.acct.pk}
    # when
    response = getattr(bearer(plain), method)(path, body) if body is not None else getattr(bearer(plain), method)(path)
    # then
    assert response.status_code == 403
    assert f"“{missing}”" in response.json()["detail"]


def test_it_allows_each_method_with_its_scope(org, make_token, bearer):
    _token, plain = make_token("read,write,events")
    api = bearer(plain)
    assert api.get(f"/api/v1/accounts/{org.acct.pk}/").status_code == 200
    assert api.options("/api/v1/accounts/").status_code == 200
    assert api.patch(f"/api/v1/accounts/{org.acct.pk}/", {"phone": "021-1"}).status_code == 200
    assert api.post("/api/v1/events/", {**EVENT, "account": org.acct.pk}).status_code == 201


def test_it_answers_429_with_retry_after_over_the_token_rate_limit(org, make_token, bearer):
    # given
    _token, plain = make_token("read", rate_limit_per_minute=2)
    api = bearer(plain)
    # when
    codes = [api.get("/api/v1/accounts/").status_code for _ in range(3)]
    response = api.get("/api/v1/accounts/")
    # then
    assert codes == [200, 200, 429]
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert "2 requests per minute" in response.json()["detail"]


def test_the_rate_limit_counts_each_token_separately(org, make_token, bearer):
    _a, plain_a = make_token("read", rate_limit_per_minute=1)
    _b, plain_b = make_token("read", rate_limit_per_minute=1)
    assert bearer(plain_a).get("/api/v1/accounts/").status_code == 200
    assert bearer(plain_a).get("/api/v1/accounts/").status_code == 429
    assert bearer(plain_b).get("/api/v1/accounts/").status_code == 200


def test_a_token_write_is_audited_as_api_with_the_integration_user(org, integration, make_token, bearer):
    # given
    _token, plain = make_token("write")
    # when
    response = bearer(plain).patch(f"/api/v1/accounts/{org.acct.pk}/", {"phone": "021-5555"})
    # then
    assert response.status_code == 200
    change = ObjectChange.objects.filter(content_type__model="account", object_id=org.acct.pk,
                                         action="update").latest("id")
    assert (change.channel, change.actor_id, change.actor_name) == ("api", integration.user.pk,
                                                                     str(integration.user))


def test_the_integration_user_is_an_administrator_who_cannot_sign_in(integration):
    user = integration.user
    assert user.username == "integration-billing"
    assert (user.role, user.is_staff, user.is_superuser, user.has_usable_password()) == (
        "administrator", False, False, False)


@pytest.mark.parametrize(("scopes", "field"), [("read,delete", "scopes"), ("", "scopes")])
def test_it_refuses_unknown_or_no_scopes_naming_the_field(integration, scopes, field):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as exc:
        services.api_token_create(integration=integration, name="x", scopes=scopes)
    assert field in exc.value.message_dict


def test_deactivating_an_integration_deactivates_its_service_user(integration):
    services.integration_update(integration=integration, data={"is_active": False})
    integration.user.refresh_from_db()
    assert integration.user.is_active is False
    services.integration_update(integration=integration, data={"is_active": True})
    integration.user.refresh_from_db()
    assert integration.user.is_active is True


def test_it_records_last_use_at_most_once_a_minute(org, make_token, bearer):
    token, plain = make_token("read")
    api = bearer(plain)
    api.get("/api/v1/accounts/")
    token.refresh_from_db()
    first = token.last_used_at
    api.get("/api/v1/accounts/")
    token.refresh_from_db()
    assert first is not None and token.last_used_at == first

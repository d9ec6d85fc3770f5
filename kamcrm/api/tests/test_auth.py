"""Session (with CSRF) and token authentication; every API write is audited as channel "api"
with the authenticated user as actor."""
import pytest
from django.middleware.csrf import get_token
from django.test import RequestFactory
from rest_framework.throttling import ScopedRateThrottle

from conftest import PASSWORD
from kamcrm.api.tests.conftest import HttpsAPIClient
from kamcrm.audit.models import ObjectChange
from kamcrm.customers.models import Account
from kamcrm.org import services as org_services


def test_it_issues_a_token_for_a_username_and_password(org, anon_api):
    response = anon_api.post("/api/v1/auth/token/", {"username": "rep", "password": PASSWORD})
    assert response.status_code == 200
    token = response.json()["token"]
    assert len(token) == 40
    # the same token again
    assert anon_api.post("/api/v1/auth/token/", {"username": "rep", "password": PASSWORD}).json()["token"] == token


@pytest.mark.parametrize(("body", "field"), [
    ({"username": "rep", "password": "wrong"}, "__all__"),
    ({"username": "rep"}, "password"),
    ({"password": PASSWORD}, "username"),
])
def test_it_refuses_bad_credentials_naming_the_problem(org, anon_api, body, field):
    response = anon_api.post("/api/v1/auth/token/", body)
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_it_refuses_a_token_to_an_inactive_user(org, anon_api):
    org_services.user_update(user=org.rep, data={"is_active": False})
    assert anon_api.post("/api/v1/auth/token/", {"username": "rep", "password": PASSWORD}).status_code == 400


def test_it_throttles_token_requests(org, anon_api, monkeypatch):
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"auth_token": "3/minute"})
    codes = [anon_api.post("/api/v1/auth/token/", {"username": "rep", "password": "wrong"}).status_code
             for _ in range(4)]
    assert codes == [400, 400, 400, 429]


def test_a_token_write_is_audited_as_api_with_the_token_user(org, token_api):
    # given
    api = token_api(org.rep)
    # when
    created = api.post("/api/v1/accounts/", {"name": "合肥某科技有限公司", "region": org.east.pk})
    updated = api.patch(f"/api/v1/accounts/{org.acct.pk}/", {"phone": "0551-1234"})
    # then
    assert (created.status_code, updated.status_code) == (201, 200)
    rows = ObjectChange.objects.filter(content_type__model="account", object_id__in=[created.json()["id"], org.acct.pk],
                                       action__in=["create", "update"]).exclude(channel="shell")
    assert {(r.action, r.channel, r.actor_id, r.actor_name) for r in rows} == {
        ("create", "api", org.rep.pk, "rep"), ("update", "api", org.rep.pk, "rep")}
    assert len({r.request_id for r in rows}) == 2


def test_a_token_sees_only_what_its_user_sees(org, token_api):
    ids = {row["id"] for row in token_api(org.outsider).get("/api/v1/accounts/").json()["results"]}
    assert ids == {org.other.pk}


def test_it_refuses_an_unknown_token(org):
    api = HttpsAPIClient()
    api.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert api.get("/api/v1/accounts/").status_code == 401


def session_client(user):
    client = HttpsAPIClient(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def test_a_session_reads_and_needs_csrf_to_write(org):
    # given
    client = session_client(org.rep)
    assert client.get("/api/v1/accounts/").status_code == 200
    # when: a write without the CSRF token
    refused = client.post("/api/v1/accounts/", {"name": "无锡某公司", "region": org.east.pk})
    # then
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    assert Account.objects.count() == 2
    # with the token (cookie + header, as the UI's JavaScript sends it) it goes through, audited as api
    request = RequestFactory().get("/")
    token = get_token(request)
    client.cookies["csrftoken"] = request.META["CSRF_COOKIE"]
    accepted = client.post("/api/v1/accounts/", {"name": "无锡某公司", "region": org.east.pk},
                           HTTP_X_CSRFTOKEN=token, HTTP_REFERER="https://testserver/accounts/")
    assert accepted.status_code == 201, accepted.content
    change = ObjectChange.objects.get(object_id=accepted.json()["id"], content_type__model="account")
    assert (change.channel, change.actor) == ("api", org.rep)

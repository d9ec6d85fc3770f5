"""API test helpers. Requests go over https: with production settings (the suite runs with
KAMCRM_DEBUG=0) plain http is redirected by SECURE_SSL_REDIRECT."""
import pytest
from django.core.cache import cache
from rest_framework.test import APIClient


class HttpsAPIClient(APIClient):
    def generic(self, method, path, data="", content_type="application/octet-stream", secure=True, **extra):
        return super().generic(method, path, data, content_type, secure=True, **extra)


@pytest.fixture(autouse=True)
def _fresh_throttles():
    cache.clear()  # the token endpoint's throttle counts live in the cache
    yield
    cache.clear()


@pytest.fixture
def anon_api():
    return HttpsAPIClient()


@pytest.fixture
def api_for():
    """An API client authenticated as `user` (DRF's force_authenticate), over https."""

    def make(user):
        api = HttpsAPIClient()
        api.force_authenticate(user)
        return api

    return make


@pytest.fixture
def token_api():
    """An API client that sends `Authorization: Token <key>` obtained from the token endpoint."""
    from conftest import PASSWORD

    def make(user):
        response = HttpsAPIClient().post("/api/v1/auth/token/", {"username": user.username, "password": PASSWORD},
                                           format="json")
        assert response.status_code == 200, response.content
        api = HttpsAPIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
        return api

    return make

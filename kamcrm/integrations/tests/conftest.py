"""Fixtures of the integrations tests: an integration (billing), its tokens, bearer clients."""
import pytest
from django.core.cache import cache

from kamcrm.api.tests.conftest import HttpsAPIClient, anon_api, api_for, token_api  # noqa: F401
from kamcrm.integrations import services


@pytest.fixture(autouse=True)
def _fresh_rate_windows():
    cache.clear()  # per-token rate counters live in the cache
    yield
    cache.clear()


@pytest.fixture
def integration(org):
    return services.integration_create(name="计费系统", code="billing", description="nightly bills",
                                       contact=org.admin)


@pytest.fixture
def make_token(integration, org):
    """make_token("read,events", rate_limit_per_minute=2) → (ApiToken, plain token)."""

    def make(scopes="read,write,events", **extra):
        return services.api_token_create(integration=integration, name="feed", scopes=scopes, by=org.admin, **extra)

    return make


@pytest.fixture
def bearer():
    """bearer(plain) → an API client sending `Authorization: Bearer <plain>`."""

    def make(plain):
        api = HttpsAPIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
        return api

    return make

"""API-wide views: obtaining a token, the OpenAPI schema and the offline documentation page."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.parsers import FormParser, JSONParser
from rest_framework.throttling import ScopedRateThrottle

__all__ = ["ApiDocsView", "ApiSchemaView", "TokenObtainView"]


class TokenObtainView(ObtainAuthToken):
    """Exchange a username and password for the user's API token (`Authorization: Token <key>`)."""

    authentication_classes: list = []  # credentials are in the body; no session, so no CSRF check
    parser_classes = [JSONParser, FormParser]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth_token"

    @extend_schema(
        request=AuthTokenSerializer,
        responses=inline_serializer("AuthToken", fields={"token": serializers.CharField()}),
        auth=[],
        tags=["auth"],
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


class ApiSchemaView(SpectacularAPIView):
    """The OpenAPI 3 schema of API v1 (YAML by default, `?format=json` for JSON)."""


class ApiDocsView(SpectacularSwaggerSplitView):
    """Swagger UI served from local static files (drf-spectacular-sidecar), with no inline script."""

    url_name = "api:schema"

"""Integration tokens in the API: `Authorization: Bearer <token>`, scopes, and a per-token rate limit.

- `IntegrationTokenAuthentication` authenticates a bearer token as its integration's service user
  and sets `request.auth` to the `ApiToken`. Personal tokens (`Authorization: Token <key>`) and
  sessions are untouched.
- `HasScope` maps the method to a scope (GET/HEAD/OPTIONS → read, other methods → write; a view may
  name its own with `required_scope`, e.g. the event feed's "events"). It only acts when
  `request.auth` is an `ApiToken`.
- The rate limit is a fixed window per token and minute in the Django cache (LocMem, or Redis when
  KAMCRM_REDIS_URL is set); over it the API answers 429 with `Retry-After`.

Scope and rate limit are checked in the authentication class as well as by `HasScope`: a view that
replaces `permission_classes` (e.g. administrator-only views) still enforces the token's scopes.
"""
from __future__ import annotations

import time

from django.core.cache import cache
from django.utils.translation import gettext as _
from rest_framework import authentication, exceptions
from rest_framework.permissions import SAFE_METHODS, BasePermission

from kamcrm.core import context
from kamcrm.integrations.models import ApiToken, TokenScope
from kamcrm.integrations.services import api_token_touch, hash_token

__all__ = ["HasScope", "IntegrationTokenAuthentication", "required_scope"]

WINDOW_SECONDS = 60


def required_scope(request, view) -> str:
    scope = getattr(view, "required_scope", None)
    if callable(scope):
        scope = scope(request)
    if scope:
        return scope
    return TokenScope.READ if request.method in SAFE_METHODS else TokenScope.WRITE


class MissingScope(exceptions.PermissionDenied):
    def __init__(self, scope: str):
        super().__init__(_("This API token lacks the scope “%(scope)s” needed for this request.") % {"scope": scope})
        self.scope = scope


def check_scope(request, view) -> None:
    token = request.auth
    if isinstance(token, ApiToken) and view is not None:
        scope = required_scope(request, view)
        if not token.has_scope(scope):
            raise MissingScope(scope)


def check_rate(token: ApiToken) -> None:
    """Fixed window: at most `rate_limit_per_minute` requests per token per clock minute."""
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    key = f"kamcrm:api-token-rate:{token.pk}:{window}"
    cache.add(key, 0, timeout=WINDOW_SECONDS + 5)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=WINDOW_SECONDS + 5)
        count = 1
    if count > token.rate_limit_per_minute:
        wait = max(1, int((window + 1) * WINDOW_SECONDS - now + 0.999))
        raise exceptions.Throttled(
            wait=wait,
            detail=_("Rate limit of %(limit)d requests per minute for this API token exceeded; retry in %(wait)d s.")
            % {"limit": token.rate_limit_per_minute, "wait": wait},
        )


class IntegrationTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate_header(self, request):
        return self.keyword

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid bearer header: give exactly one token after “Bearer”."))
        try:
            plain = header[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed(_("Invalid bearer token.")) from None
        token = (ApiToken.objects.select_related("integration", "integration__user")
                 .filter(token_hash=hash_token(plain)).first())
        if token is None:
            raise exceptions.AuthenticationFailed(_("Unknown API token."))
        if token.is_revoked:
            raise exceptions.AuthenticationFailed(_("This API token has been revoked."))
        if token.is_expired:
            raise exceptions.AuthenticationFailed(_("This API token has expired."))
        integration = token.integration
        user = integration.user
        if not integration.is_active or not user.is_active:
            raise exceptions.AuthenticationFailed(_("The integration of this API token is inactive."))
        request.auth = token  # so that the checks below see the token
        check_rate(token)
        check_scope(request, request.parser_context.get("view") if request.parser_context else None)
        api_token_touch(token=token)
        ctx = context.current()
        if ctx.request is not None:
            ctx.actor = user
            ctx.channel = context.Channel.API
        return user, token


class HasScope(BasePermission):
    """Enforce an integration token's scopes; sessions and personal tokens pass through."""

    def has_permission(self, request, view):
        check_scope(request, view)
        return True

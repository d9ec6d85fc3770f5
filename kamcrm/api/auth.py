"""API authentication and permissions.

Authentication is Django's session (with CSRF) or a token (`Authorization: Token <key>`, from
`POST /api/v1/auth/token/`). Object-level access is not decided here: every queryset goes
through `kamcrm.org.selectors.visible` in the ViewSets.

Audit actor: DRF authenticates lazily, after the middleware has opened the change context. When
DRF sets `request.user` it also sets it on the underlying Django request, which is the one the
change context reads, so a token user is the actor of the writes it makes;
`kamcrm/api/tests/test_auth.py` pins this. `TokenAuthentication` below additionally records the
user on the context explicitly, so the actor does not depend on that DRF detail.
"""
from __future__ import annotations

from rest_framework import authentication
from rest_framework.permissions import SAFE_METHODS, BasePermission

from kamcrm.core import context
from kamcrm.org.selectors import is_administrator

__all__ = ["IsAdministrator", "IsAdministratorOrReadOnly", "TokenAuthentication"]


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's token authentication that also names the token's user as the audit actor."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None:
            ctx = context.current()
            if ctx.request is not None:  # only inside a request's context, never the fallback one
                ctx.actor = result[0]
        return result


class IsAdministrator(BasePermission):
    def has_permission(self, request, view):
        return is_administrator(request.user)


class IsAdministratorOrReadOnly(BasePermission):
    """Everyone signed in reads; only administrators write."""

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        return request.method in SAFE_METHODS or is_administrator(request.user)

"""Reads of the integrations app."""
from __future__ import annotations

from django.db.models import Count, QuerySet

from kamcrm.core.pagination import Page, keyset_page
from kamcrm.integrations.models import ApiToken, InboundEvent, Integration

__all__ = ["integration_get", "integration_list", "integration_events", "integration_tokens"]


def integration_list(*, cursor: str | None = None, page_size: int = 50) -> Page:
    qs: QuerySet = Integration.objects.select_related("contact").annotate(token_count=Count("tokens"))
    return keyset_page(qs, order=["name", "id"], cursor=cursor, page_size=page_size)


def integration_get(*, pk: int) -> Integration:
    return Integration.objects.select_related("contact", "user").get(pk=pk)


def integration_tokens(*, integration: Integration) -> list[ApiToken]:
    return list(ApiToken.objects.filter(integration=integration).select_related("created_by"))


def integration_events(*, integration: Integration, cursor: str | None = None, page_size: int = 50) -> Page:
    qs = InboundEvent.objects.filter(integration=integration).select_related("account")
    return keyset_page(qs, order=["-received_at", "-id"], cursor=cursor, page_size=page_size)

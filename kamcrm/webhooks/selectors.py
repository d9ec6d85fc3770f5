"""Reads of the webhooks app (administrators only; the views check that)."""
from __future__ import annotations

from django.db.models import QuerySet

from kamcrm.webhooks.models import Delivery, WebhookSubscription


def subscription_list() -> QuerySet[WebhookSubscription]:
    return WebhookSubscription.objects.select_related("created_by")


def delivery_list(*, subscription: WebhookSubscription, status: str = "") -> QuerySet[Delivery]:
    qs = Delivery.objects.filter(subscription=subscription).select_related("event")
    if status:
        qs = qs.filter(status=status)
    return qs

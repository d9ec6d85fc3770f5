"""Every write of the webhooks app: subscriptions, emitting events into the outbox, redelivery."""
from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kamcrm.core.services import model_update
from kamcrm.org.selectors import is_administrator
from kamcrm.webhooks.events import EVENT_TYPES
from kamcrm.webhooks.models import Delivery, DeliveryStatus, OutboxEvent, WebhookSubscription, new_secret
from kamcrm.webhooks.targets import resolve_target

SUBSCRIPTION_FIELDS = ["name", "target_url", "event_types", "active", "allow_private_targets"]


def retry_window() -> dt.timedelta:
    """How long a delivery is retried before it is given up (at least a day)."""
    return dt.timedelta(seconds=getattr(settings, "KAMCRM_WEBHOOK_RETRY_WINDOW", 24 * 3600))


# --- emitting -------------------------------------------------------------------------------------


def event_emit(*, type: str, payload: dict[str, Any], account_id: int | None) -> OutboxEvent | None:
    """Write the event and one delivery per active subscription to `type`, in the caller's transaction.

    Call it inside the transaction that makes the change: if that rolls back, so does the event.
    When no active subscription wants the type, nothing is written (an import of 100,000 rows does not
    fill the outbox for nobody) and None is returned.
    """
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {type!r}")
    subscriptions = [s for s in WebhookSubscription.objects.filter(active=True).only("id", "event_types")
                     if type in (s.event_types or [])]
    if not subscriptions:
        return None
    now = timezone.now()
    event = OutboxEvent.objects.create(type=type, payload=payload, account_id=account_id, created_at=now)
    Delivery.objects.bulk_create([
        Delivery(subscription=s, event=event, account_id=account_id, next_attempt_at=now,
                 give_up_at=now + retry_window(), created_at=now)
        for s in subscriptions
    ])
    return event


def events_emit_many(*, type: str, items: Iterable[tuple[dict[str, Any], int | None]]) -> int:
    """event_emit() for many records at once (bulk writes such as imports): one query for the
    subscriptions, bulk inserts for the events and deliveries. Returns the number of events written.
    `items` may be a generator: payloads are only built when someone subscribes to the type."""
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {type!r}")
    subscriptions = [s for s in WebhookSubscription.objects.filter(active=True).only("id", "event_types")
                     if type in (s.event_types or [])]
    if not subscriptions:
        return 0
    items = list(items)
    if not items:
        return 0
    now = timezone.now()
    events = OutboxEvent.objects.bulk_create(
        [OutboxEvent(type=type, payload=payload, account_id=account_id, created_at=now) for payload, account_id in items])
    Delivery.objects.bulk_create([
        Delivery(subscription=s, event=event, account_id=event.account_id, next_attempt_at=now,
                 give_up_at=now + retry_window(), created_at=now)
        for event in events for s in subscriptions
    ], batch_size=1000)
    return len(events)


def _plain(value: Any) -> Any:
    if hasattr(value, "pk"):
        return value.pk
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (list, dict)):
        return copy.deepcopy(value)  # the snapshot must not follow later in-place edits
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def record_snapshot(instance, fields: list[str]) -> dict[str, Any]:
    """The fields' current values as JSON-able plain values (foreign keys as ids); see record_payload."""
    out = {}
    for name in fields:
        field = instance._meta.get_field(name)
        out[name] = getattr(instance, field.attname) if field.is_relation else _plain(getattr(instance, name))
    return out


def record_payload(instance, fields: list[str], *, before: dict[str, Any] | None = None) -> dict[str, Any]:
    """A small dict describing the record: id, the listed fields, and with `before` the changed fields."""
    current = record_snapshot(instance, fields)
    payload: dict[str, Any] = {"id": instance.pk, **current}
    if before is not None:
        payload["changes"] = {name: {"before": before[name], "after": current[name]}
                              for name in fields if name in before and before[name] != current[name]}
    return payload


# Fields carried in account.* / contact.* payloads.
ACCOUNT_PAYLOAD_FIELDS = ["name", "short_name", "credit_code", "industry", "tier", "status", "region", "parent",
                          "owner", "tags", "address", "website", "phone", "source_system", "external_id", "attributes"]
CONTACT_PAYLOAD_FIELDS = ["account", "name", "title", "department", "mobile", "phone", "email", "decision_role",
                          "is_primary", "source_system", "external_id", "attributes"]


def account_event(account, *, type: str, before: dict[str, Any] | None = None) -> OutboxEvent | None:
    return event_emit(type=type, payload=record_payload(account, ACCOUNT_PAYLOAD_FIELDS, before=before),
                      account_id=account.pk)


def contact_event(contact, *, type: str, before: dict[str, Any] | None = None) -> OutboxEvent | None:
    return event_emit(type=type, payload=record_payload(contact, CONTACT_PAYLOAD_FIELDS, before=before),
                      account_id=contact.account_id)


# --- subscriptions --------------------------------------------------------------------------------


def _check_subscription(data: dict[str, Any], *, current: WebhookSubscription | None, by) -> None:
    errors: dict[str, list[str]] = {}
    types = data.get("event_types", current.event_types if current else [])
    if not isinstance(types, list) or not types:
        errors["event_types"] = [_("Choose at least one event type.")]
    elif unknown := [t for t in types if t not in EVENT_TYPES]:
        errors["event_types"] = [_("Unknown event type: %(types)s.") % {"types": ", ".join(map(str, unknown))}]
    allow = data.get("allow_private_targets", current.allow_private_targets if current else False)
    turning_on = allow and not (current and current.allow_private_targets)
    if turning_on and not is_administrator(by):
        errors["allow_private_targets"] = [_("Only administrators may allow private targets.")]
    if errors:
        raise ValidationError(errors)
    url = data.get("target_url", current.target_url if current else "")
    resolve_target(url, allow_private=bool(allow))


@transaction.atomic
def subscription_create(*, by=None, **data: Any) -> WebhookSubscription:
    data = {k: v for k, v in data.items() if k in SUBSCRIPTION_FIELDS}
    _check_subscription(data, current=None, by=by)
    subscription = WebhookSubscription(**data, created_by=by)
    subscription.full_clean()
    subscription.save()
    return subscription


@transaction.atomic
def subscription_update(*, subscription: WebhookSubscription, data: dict[str, Any], by=None) -> WebhookSubscription:
    _check_subscription(data, current=subscription, by=by)
    subscription, _changed = model_update(instance=subscription, fields=SUBSCRIPTION_FIELDS, data=data)
    return subscription


@transaction.atomic
def subscription_secret_rotate(*, subscription: WebhookSubscription, by=None) -> WebhookSubscription:
    """A new signing secret; deliveries from now on are signed with it."""
    subscription.secret = new_secret()
    subscription.save(update_fields=["secret", "updated_at"])
    return subscription


@transaction.atomic
def delivery_redeliver(*, delivery: Delivery, by=None) -> Delivery:
    """Send a failed or given-up delivery again, soon, with the same event id and a fresh retry window."""
    if delivery.status not in (DeliveryStatus.FAILED, DeliveryStatus.DEAD):
        raise ValidationError({"__all__": [_("Only failed or given-up deliveries can be redelivered.")]})
    now = timezone.now()
    delivery.status = DeliveryStatus.PENDING
    delivery.next_attempt_at = now
    delivery.give_up_at = now + retry_window()
    delivery.save(update_fields=["status", "next_attempt_at", "give_up_at"])
    return delivery

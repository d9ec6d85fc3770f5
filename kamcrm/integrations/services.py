"""Writes of the integrations app: integrations, their tokens, and received events.

Facts for reports: the analytics app, when it exists, is called explicitly from
`inbound_event_receive` inside the transaction that stores a new event (never for a replay; house
rule 4: no signals), with the row `inbound_event_facts(event)` gives; the same function back-fills
facts from events already stored.
"""
from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kamcrm.audit.models import TimelineEvent
from kamcrm.core.services import model_update
from kamcrm.customers.models import Account
from kamcrm.integrations.models import ApiToken, EventType, InboundEvent, Integration, TokenScope
from kamcrm.org import services as org_services
from kamcrm.org.choices import Role
from kamcrm.org.models import User
from kamcrm.org.selectors import EDIT, is_administrator, visible

__all__ = [
    "AccountNotFound",
    "IdempotencyConflict",
    "api_token_create",
    "api_token_revoke",
    "hash_token",
    "inbound_event_facts",
    "inbound_event_receive",
    "integration_create",
    "integration_update",
    "parse_scopes",
]

TOKEN_PREFIX = "kam_"
VISIBLE_PREFIX_LENGTH = 12  # "kam_" and 8 characters: enough to tell tokens apart in the list

# --- integrations ---------------------------------------------------------------------------------


def _service_username(code: str) -> str:
    return f"integration-{code}"


@transaction.atomic
def integration_create(*, name: str, code: str, description: str = "", contact: User | None = None,
                       is_active: bool = True) -> Integration:
    """Create an integration and its service user (role administrator, not staff, no password)."""
    integration = Integration(name=name, code=code, description=description, contact=contact, is_active=is_active)
    integration.full_clean(exclude=["user"])
    if User.objects.filter(username=_service_username(code)).exists():
        raise ValidationError({"code": _("A user named %(username)s already exists; choose another code.")
                               % {"username": _service_username(code)}})
    integration.user = org_services.user_create(
        username=_service_username(code), display_name=name[:100], role=Role.ADMINISTRATOR,
        is_staff=False, is_superuser=False, is_active=is_active, source_system=code,
    )
    integration.save()
    return integration


@transaction.atomic
def integration_update(*, integration: Integration, data: dict[str, Any]) -> Integration:
    """Change name, description, contact or active; the code (source system) is fixed once created."""
    if "code" in data and data["code"] != integration.code:
        raise ValidationError({"code": _("The source system of an integration cannot be changed.")})
    data = {k: v for k, v in data.items() if k != "code"}
    integration, _changed = model_update(instance=integration, fields=["name", "description", "contact", "is_active"],
                                        data=data)
    user = integration.user
    if user.is_active != integration.is_active:
        org_services.user_update(user=user, data={"is_active": integration.is_active})
    return integration


# --- tokens ---------------------------------------------------------------------------------------


def hash_token(plain: str) -> str:
    return hashlib.sha256(plain.encode()).hexdigest()


def parse_scopes(value: str | list[str]) -> list[str]:
    """"read,events" or ["read", "events"] → ["events", "read"]; unknown scopes name the field."""
    items = value.split(",") if isinstance(value, str) else list(value)
    scopes = sorted({s.strip() for s in items if s and s.strip()})
    allowed = set(TokenScope.values)
    unknown = [s for s in scopes if s not in allowed]
    if unknown:
        raise ValidationError({"scopes": _("Unknown scope: %(scopes)s. Allowed: %(allowed)s.")
                               % {"scopes": ", ".join(unknown), "allowed": ", ".join(TokenScope.values)}})
    if not scopes:
        raise ValidationError({"scopes": _("Choose at least one scope.")})
    return scopes


@transaction.atomic
def api_token_create(*, integration: Integration, name: str, scopes, by: User | None = None,
                     expires_at: datetime | None = None, rate_limit_per_minute: int = 600) -> tuple[ApiToken, str]:
    """Issue a token. Returns (token, plain token); the plain token is not kept anywhere."""
    scopes = parse_scopes(scopes)
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": _("The expiry must be in the future.")})
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(integration=integration, name=name, scopes=scopes, created_by=by, expires_at=expires_at,
                     rate_limit_per_minute=rate_limit_per_minute, token_hash=hash_token(plain),
                     prefix=plain[:VISIBLE_PREFIX_LENGTH])
    token.full_clean()
    if token.rate_limit_per_minute < 1:
        raise ValidationError({"rate_limit_per_minute": _("Must be at least 1.")})
    token.save()
    return token, plain


@transaction.atomic
def api_token_revoke(*, token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def api_token_touch(*, token: ApiToken, every_seconds: int = 60) -> None:
    """Record use; at most one write per token a minute, and no audit entry (a queryset update)."""
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() >= every_seconds:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now


# --- inbound events -------------------------------------------------------------------------------


class AccountNotFound(Exception):
    """The event names no account that the poster may edit (the API answers 404, naming the field)."""

    def __init__(self, field: str):
        super().__init__(field)
        self.field = field


class IdempotencyConflict(Exception):
    """The idempotency key was used before with a different body (the API answers 409)."""

    def __init__(self, event: InboundEvent):
        super().__init__(event.idempotency_key)
        self.event = event


@dataclass
class Received:
    event: InboundEvent
    created: bool


def _resolve_account(*, by: User, integration: Integration | None, account_id: int | None,
                     account_external_id: str, source_system: str) -> Account:
    qs = Account.objects.all()
    if integration is None or not is_administrator(by):
        qs = visible(qs, by, EDIT)
    if account_id is not None:
        account = qs.filter(pk=account_id).first()
        field = "account"
    else:
        system = integration.code if integration is not None else source_system
        if not system:
            raise ValidationError({"source_system": _("Give the source system of account_external_id.")})
        account = qs.filter(source_system=system, external_id=account_external_id).first()
        field = "account_external_id"
    if account is None:
        raise AccountNotFound(field)
    return account


def _fingerprint(*, type: str, occurred_at: datetime, account: Account, summary: str, amount: Decimal | None,
                 currency: str, data: dict) -> str:
    meaning = {
        "type": type, "occurred_at": occurred_at.astimezone(UTC).isoformat(), "account": account.pk,
        "summary": summary, "amount": None if amount is None else str(amount.normalize()), "currency": currency,
        "data": data,
    }
    raw = json.dumps(meaning, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


def inbound_event_facts(event: InboundEvent) -> dict[str, Any]:
    """The fact row a report would keep for this event (the hook's payload; see the module doc)."""
    return {
        "event_id": event.pk, "type": event.type, "account_id": event.account_id,
        "occurred_at": event.occurred_at, "amount": event.amount, "currency": event.currency,
        "source_system": event.integration.code if event.integration_id else "",
    }


def _existing(*, integration: Integration | None, by: User, key: str) -> InboundEvent | None:
    qs = InboundEvent.objects.select_related("account", "integration")
    if integration is not None:
        return qs.filter(integration=integration, idempotency_key=key).first()
    return qs.filter(integration__isnull=True, posted_by=by, idempotency_key=key).first()


def inbound_event_receive(*, by: User, integration: Integration | None, idempotency_key: str, type: str,
                          occurred_at: datetime, summary: str, account_id: int | None = None,
                          account_external_id: str = "", source_system: str = "", amount: Decimal | None = None,
                          currency: str = "CNY", data: dict | None = None, payload: dict | None = None) -> Received:
    """Store one posted event and put it on the account's timeline, in one transaction.

    A replay (same key, same meaning) returns the original with created=False and writes nothing;
    the same key with a different meaning raises IdempotencyConflict.
    """
    if type not in EventType.values:
        raise ValidationError({"type": _("Unknown event type.")})
    data = data or {}
    account = _resolve_account(by=by, integration=integration, account_id=account_id,
                               account_external_id=account_external_id, source_system=source_system)
    fingerprint = _fingerprint(type=type, occurred_at=occurred_at, account=account, summary=summary,
                               amount=amount, currency=currency, data=data)

    def replay(existing: InboundEvent) -> Received:
        if existing.fingerprint != fingerprint:
            raise IdempotencyConflict(existing)
        return Received(existing, False)

    existing = _existing(integration=integration, by=by, key=idempotency_key)
    if existing is not None:
        return replay(existing)
    try:
        with transaction.atomic():
            event = InboundEvent(integration=integration, posted_by=by, idempotency_key=idempotency_key, type=type,
                                 occurred_at=occurred_at, account=account, summary=summary, amount=amount,
                                 currency=currency, data=data, payload=payload or {}, fingerprint=fingerprint)
            event.save()
            timeline = TimelineEvent.objects.create(
                account=account, occurred_at=occurred_at, kind=type, summary=summary[:300], actor=by,
                content_type=ContentType.objects.get_for_model(InboundEvent), object_id=event.pk,
                data={"amount": None if amount is None else str(amount), "currency": currency,
                      "source": integration.name if integration else str(by), "data": data},
            )
            # A queryset update: the link is bookkeeping, not a second change in the audit log.
            InboundEvent.objects.filter(pk=event.pk).update(timeline_event=timeline)
            event.timeline_event = timeline
    except IntegrityError:
        # Two posts of one key at once: the other one stored it first.
        existing = _existing(integration=integration, by=by, key=idempotency_key)
        if existing is None:
            raise
        return replay(existing)
    return Received(event, True)

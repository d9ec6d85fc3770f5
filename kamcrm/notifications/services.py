"""Writes of notifications: notify (idempotent, in bulk) and marking read (only one's own)."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from kamcrm.notifications.choices import Kind
from kamcrm.notifications.models import Notification
from kamcrm.notifications.texts import MESSAGES
from kamcrm.org.models import User

BATCH = 500  # rows per existence check and INSERT (well under SQLite's bound-parameter limit)
KEY_MAX = Notification._meta.get_field("key").max_length
URL_MAX = Notification._meta.get_field("url").max_length


@dataclass(frozen=True)
class Draft:
    """One notification to write: to whom, what kind, its dedupe key, message key, parameters, link."""

    recipient_id: int
    kind: str
    key: str
    message: str
    params: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    url: str = field(default="", hash=False, compare=False)


def _check(draft: Draft) -> None:
    if draft.kind not in Kind.values:
        raise ValidationError({"kind": _("Unknown kind of notification: %(k)s.") % {"k": draft.kind}})
    if draft.message not in MESSAGES:
        raise ValidationError({"message": _("Unknown notification message: %(m)s.") % {"m": draft.message}})
    if not draft.key or len(draft.key) > KEY_MAX:
        raise ValidationError({"key": _("A notification key is 1 to %(n)s characters.") % {"n": KEY_MAX}})
    if len(draft.url) > URL_MAX:
        raise ValidationError({"url": _("A notification link is at most %(n)s characters.") % {"n": URL_MAX}})


def notify_many(drafts: Iterable[Draft]) -> int:
    """Write the drafts not written before (same recipient, kind and key); returns how many were new.
    Existing keys are skipped after one look-up per batch, and the INSERT ignores conflicts, so two
    concurrent runs still leave one row per key (the count may then over-state by the race's losers)."""
    created = 0
    batch: dict[tuple[int, str, str], Draft] = {}
    for draft in drafts:
        _check(draft)
        batch.setdefault((draft.recipient_id, draft.kind, draft.key), draft)
        if len(batch) >= BATCH:
            created += _write(batch)
            batch = {}
    if batch:
        created += _write(batch)
    return created


def _write(batch: dict[tuple[int, str, str], Draft]) -> int:
    existing = set(Notification.objects.filter(
        recipient_id__in={k[0] for k in batch}, kind__in={k[1] for k in batch}, key__in={k[2] for k in batch},
    ).order_by().values_list("recipient_id", "kind", "key"))
    now = timezone.now()
    rows = [Notification(recipient_id=d.recipient_id, kind=d.kind, key=d.key, message=d.message, params=d.params,
                         url=d.url, created_at=now) for k, d in batch.items() if k not in existing]
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def _ids(recipients: User | int | Iterable[User | int | None] | None) -> list[int]:
    if recipients is None:
        return []
    if isinstance(recipients, (User, int)):
        recipients = [recipients]
    ids = {r.pk if isinstance(r, User) else r for r in recipients}
    return sorted(i for i in ids if i is not None)


def notify(recipients: User | int | Iterable[User | int | None], *, kind: str, key: str, message: str | None = None,
           params: dict[str, Any] | None = None, url: str = "") -> int:
    """Notify each recipient (people or ids; None entries are skipped) once per (kind, key); returns how
    many notifications were new. `message` defaults to the kind's own message key."""
    message = message or kind
    return notify_many(Draft(recipient_id=rid, kind=kind, key=key, message=message, params=params or {}, url=url)
                       for rid in _ids(recipients))


def mark_read(*, user: User, notification_id: int) -> Notification:
    """Mark one of `user`'s notifications read (once: the first reading time stays); 404 for anyone else's."""
    notification = Notification.objects.filter(pk=notification_id, recipient_id=user.pk).first()
    if notification is None:
        raise Http404
    if notification.read_at is None:
        notification.read_at = timezone.now()
        # conditional, so a concurrent reading keeps the first time
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=notification.read_at)
    return notification


def mark_all_read(*, user: User) -> int:
    """Mark every unread notification of `user` read; returns how many."""
    return Notification.objects.filter(recipient_id=user.pk, read_at__isnull=True).update(read_at=timezone.now())


__all__ = ["Draft", "notify", "notify_many", "mark_read", "mark_all_read"]

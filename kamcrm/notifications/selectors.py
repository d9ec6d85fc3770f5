"""Reads of notifications: a person only ever reads their own (every read filters on the recipient)."""
from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404, HttpRequest

from kamcrm.core.pagination import Page, bounded_count, keyset_page
from kamcrm.notifications.models import Notification
from kamcrm.org.models import User

ORDER = ["-id"]
BELL_BOUND = 99  # the bell shows "99+" beyond this


def notification_queryset(*, user: User, unread: bool = False) -> QuerySet[Notification]:
    qs = Notification.objects.filter(recipient_id=user.pk)
    return qs.filter(read_at__isnull=True) if unread else qs


def unread_count(*, user: User, bound: int = BELL_BOUND) -> tuple[int, bool]:
    """(count, capped): one COUNT over at most `bound` + 1 index entries."""
    if not getattr(user, "pk", None):
        return 0, False
    return bounded_count(notification_queryset(user=user, unread=True), bound)


def unread_count_for_request(request: HttpRequest) -> tuple[int, bool]:
    """The bell's count, computed once per request however many templates ask for it."""
    cached = getattr(request, "_notifications_unread", None)
    if cached is None:
        cached = unread_count(user=request.user)
        request._notifications_unread = cached
    return cached


def notification_list(*, user: User, unread: bool = False, cursor: str | None = None, page_size: int = 50) -> Page:
    """One keyset page of `user`'s notifications, newest first."""
    return keyset_page(notification_queryset(user=user, unread=unread), order=ORDER, cursor=cursor,
                       page_size=page_size)


def notification_get(*, user: User, pk: int) -> Notification:
    """One of `user`'s notifications; 404 for anyone else's, as for one that does not exist."""
    notification = notification_queryset(user=user).filter(pk=pk).first()
    if notification is None:
        raise Http404
    return notification


__all__ = ["notification_queryset", "unread_count", "unread_count_for_request", "notification_list",
           "notification_get"]

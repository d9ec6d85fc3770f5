"""Notification pages: the list (all or unread, newest first, keyset pages), opening one (marks it read
and goes to its record), marking one or all read, and the unread count as JSON. Everything reads and
writes only the signed-in person's own notifications; anyone else's is a 404."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from kamcrm.notifications import selectors, services

PAGE_SIZE = 50


def _back(request: HttpRequest) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return reverse("notifications:list")


@login_required
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    unread = request.GET.get("show") == "unread"
    status = 200
    try:
        page = selectors.notification_list(user=request.user, unread=unread, cursor=request.GET.get("cursor") or None,
                                           page_size=PAGE_SIZE)
    except ValidationError:  # a tampered or stale cursor
        status = 400
        messages.error(request, _("This page link is no longer valid; showing the newest notifications."))
        page = selectors.notification_list(user=request.user, unread=unread, page_size=PAGE_SIZE)
    count, capped = selectors.unread_count_for_request(request)
    return render(request, "notifications/list.html", {
        "page": page, "unread_only": unread, "unread_count": count, "unread_capped": capped,
        "section": "notifications"}, status=status)


@login_required
@require_GET
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Go to the notification's record, marking it read on the way."""
    notification = services.mark_read(user=request.user, notification_id=pk)
    url = notification.url
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
        return redirect(url)
    return redirect("notifications:list")


@login_required
@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    services.mark_read(user=request.user, notification_id=pk)
    return redirect(_back(request))


@login_required
@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    n = services.mark_all_read(user=request.user)
    if n:
        messages.success(request, _("All notifications marked read."))
    return redirect(_back(request))


@require_GET
def unread_count(request: HttpRequest) -> JsonResponse:
    """{"unread": n, "capped": bool} for the signed-in person (401 otherwise): one COUNT of at most
    10,000 index entries."""
    if not request.user.is_authenticated:
        return JsonResponse({"detail": _("Authentication credentials were not provided.")}, status=401)
    count, capped = selectors.unread_count(user=request.user, bound=10_000)
    return JsonResponse({"unread": count, "capped": capped})

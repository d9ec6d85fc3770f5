"""Tasks UI: my tasks (and my reports'), overdue ones flagged; mark done, cancel or reopen."""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from kamcrm.activities.choices import TaskStatus
from kamcrm.activities.selectors import task_queryset
from kamcrm.activities.services import task_set_status
from kamcrm.core.pagination import keyset_page

PAGE_SIZE = 50


@login_required
@require_GET
def task_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status") or TaskStatus.OPEN
    if status not in TaskStatus.values:
        status = TaskStatus.OPEN
    mine = request.GET.get("who") != "team"
    qs = task_queryset(request.user).filter(status=status)
    if mine:
        qs = qs.filter(assignee=request.user)
    try:
        page = keyset_page(qs, order=["due_on", "id"], cursor=request.GET.get("cursor") or None, page_size=PAGE_SIZE)
    except ValidationError:
        raise Http404 from None
    return render(request, "activities/task_list.html", {
        "page": page, "status": status, "mine": mine, "statuses": TaskStatus.choices, "today": timezone.localdate()})


@login_required
@require_POST
def task_status(request: HttpRequest, pk: int) -> HttpResponse:
    task = task_queryset(request.user).filter(pk=pk).first()
    if task is None:
        raise Http404
    task_set_status(task=task, status=request.POST.get("status", ""), by=request.user)
    return redirect(request.POST.get("next") or "activities:task_list")

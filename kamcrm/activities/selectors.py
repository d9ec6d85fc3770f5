"""Reads of tasks, visits, sales plans and the calendar. A person sees the tasks assigned to them or made
by them, and their reports' tasks (anyone below them in the manager chain); administrators see all.
Visits and sales plans hang off accounts and go through org.selectors.visible."""
from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet
from django.utils import timezone

from kamcrm.activities.choices import TaskStatus, VisitStatus
from kamcrm.activities.models import SalesPlan, Task, Visit
from kamcrm.org.models import User
from kamcrm.org.selectors import EDIT, VIEW, is_administrator, reach, visible


def task_queryset(user: User) -> QuerySet[Task]:
    qs = Task.objects.select_related("assignee", "account", "opportunity")
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    if is_administrator(user):
        return qs
    people = reach(user, EDIT).owner_ids
    return qs.filter(Q(assignee_id__in=people) | Q(created_by=user))


def task_is_overdue(task: Task) -> bool:
    return task.status == TaskStatus.OPEN and task.due_on is not None and task.due_on < timezone.localdate()


def visit_queryset(user: User, action: str = VIEW) -> QuerySet[Visit]:
    return visible(Visit.objects.select_related("account", "owner", "opportunity"), user, action)


def sales_plan_queryset(user: User, action: str = VIEW) -> QuerySet[SalesPlan]:
    return visible(SalesPlan.objects.select_related("account", "owner", "opportunity"), user, action)


def calendar_entries(*, user: User, start: dt.date, end: dt.date, team: bool = False) -> dict[dt.date, list[dict]]:
    """Visits (of accounts the user may see) and open tasks with a due date, per day from start to end;
    the user's own, or with `team` everyone's below them in the manager chain."""
    people = sorted(reach(user, VIEW).owner_ids) if team else [user.pk]
    first = timezone.make_aware(dt.datetime.combine(start, dt.time.min))
    last = timezone.make_aware(dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min))
    days: dict[dt.date, list[dict]] = {}
    for visit in (visit_queryset(user).filter(owner_id__in=people, starts_at__gte=first, starts_at__lt=last)
                  .exclude(status=VisitStatus.CANCELLED).order_by("starts_at", "id")[:2000]):
        local = timezone.localtime(visit.starts_at)
        days.setdefault(local.date(), []).append({"kind": "visit", "time": local.strftime("%H:%M"), "object": visit,
                                                  "title": f"{visit.account.name} · {visit.purpose}",
                                                  "who": visit.owner, "done": visit.status == VisitStatus.DONE})
    for task in (task_queryset(user).filter(assignee_id__in=people, status=TaskStatus.OPEN, due_on__gte=start,
                                            due_on__lte=end).order_by("due_on", "id")[:2000]):
        days.setdefault(task.due_on, []).append({"kind": "task", "time": "", "object": task, "title": task.title,
                                                 "who": task.assignee, "done": False})
    return days

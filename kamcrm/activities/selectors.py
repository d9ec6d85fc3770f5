"""Reads of tasks. A person sees the tasks assigned to them or made by them, and their reports' tasks
(anyone below them in the manager chain); administrators see all."""
from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils import timezone

from kamcrm.activities.choices import TaskStatus
from kamcrm.activities.models import Task
from kamcrm.org.models import User
from kamcrm.org.selectors import EDIT, is_administrator, reach


def task_queryset(user: User) -> QuerySet[Task]:
    qs = Task.objects.select_related("assignee", "account", "opportunity")
    if is_administrator(user):
        return qs
    people = reach(user, EDIT).owner_ids
    return qs.filter(Q(assignee_id__in=people) | Q(created_by=user))


def task_is_overdue(task: Task) -> bool:
    return task.status == TaskStatus.OPEN and task.due_on is not None and task.due_on < timezone.localdate()

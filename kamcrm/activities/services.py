"""Every write to tasks."""
from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kamcrm.activities.choices import TaskStatus
from kamcrm.activities.models import Task
from kamcrm.core.services import model_update
from kamcrm.org.models import User

TASK_FIELDS = ["title", "description", "assignee", "due_on", "account", "opportunity"]


@transaction.atomic
def task_create(*, title: str, assignee: User, by: User | None = None, **data: Any) -> Task:
    task = Task(title=(title or "").strip(), assignee=assignee, created_by=by, **data)
    task.full_clean()
    task.save()
    return task


@transaction.atomic
def task_update(*, task: Task, data: dict[str, Any], by: User | None = None) -> Task:
    task, _changed = model_update(instance=task, fields=TASK_FIELDS, data=data)
    return task


@transaction.atomic
def task_set_status(*, task: Task, status: str, by: User | None = None) -> Task:
    if status not in TaskStatus.values:
        raise ValidationError({"status": _("Unknown status.")})
    task = Task.objects.select_for_update().get(pk=task.pk)
    if task.status == status:
        return task
    task.status = status
    task.done_at = timezone.now() if status == TaskStatus.DONE else None
    task.save(update_fields=["status", "done_at", "updated_at"])
    return task

"""Tasks: things a person must do by a date, made by hand or by the system (e.g. a funnel health alert),
optionally about an account or an opportunity."""
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kamcrm.activities.choices import TaskSource, TaskStatus
from kamcrm.core.models import TimeStampedModel


class Task(TimeStampedModel):
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("assignee"), on_delete=models.PROTECT,
                                 related_name="tasks")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    due_on = models.DateField(_("due on"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=20, choices=TaskSource.choices, default=TaskSource.MANUAL)
    account = models.ForeignKey("customers.Account", verbose_name=_("account"), null=True, blank=True,
                                on_delete=models.CASCADE, related_name="tasks")
    opportunity = models.ForeignKey("sales.Opportunity", verbose_name=_("opportunity"), null=True, blank=True,
                                    on_delete=models.CASCADE, related_name="tasks")

    class Meta:
        ordering = ["status", "due_on", "id"]
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        indexes = [
            models.Index(fields=["assignee", "status", "due_on", "id"], name="task_assignee_status_due"),
            models.Index(fields=["opportunity", "status"], name="task_opportunity_status"),
        ]

    def __str__(self) -> str:
        return self.title

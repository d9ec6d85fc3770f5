from django.db import models
from django.utils.translation import gettext_lazy as _


class TaskStatus(models.TextChoices):
    OPEN = "open", _("to do")
    DONE = "done", _("done")
    CANCELLED = "cancelled", _("cancelled")


class TaskSource(models.TextChoices):
    MANUAL = "manual", _("by hand")
    FUNNEL_ALERT = "funnel_alert", _("funnel health alert")
    RECEIVABLE = "receivable", _("overdue receivable")
    RENEWAL = "renewal", _("agreement renewal")


class PlanStatus(models.TextChoices):
    OPEN = "open", _("in progress")
    DONE = "done", _("achieved")
    CANCELLED = "cancelled", _("cancelled")


class VisitStatus(models.TextChoices):
    PLANNED = "planned", _("planned")
    DONE = "done", _("visited")
    CANCELLED = "cancelled", _("cancelled")

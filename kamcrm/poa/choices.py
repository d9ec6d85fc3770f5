from django.db import models
from django.utils.translation import gettext_lazy as _


class SubjectKind(models.TextChoices):
    """What an action plan is about: exactly one of these is set on the plan."""

    ACCOUNT = "account", _("account")
    OPPORTUNITY = "opportunity", _("opportunity")
    UNIT = "unit", _("unit")
    PERSON = "person", _("person")


class CycleStatus(models.TextChoices):
    """The PDCA steps of one cycle, in order."""

    PLAN = "plan", _("plan")
    DO = "do", _("do")
    CHECK = "check", _("check")
    ACT = "act", _("act")
    CLOSED = "closed", _("closed")


class ActionStatus(models.TextChoices):
    OPEN = "open", _("open")
    DONE = "done", _("done")
    CANCELLED = "cancelled", _("cancelled")


class WeeklyStatus(models.TextChoices):
    """A weekly plan's life: written (draft, the plan may be shared), the report handed in, then reviewed."""

    DRAFT = "draft", _("draft")
    SUBMITTED = "submitted", _("report submitted")
    REVIEWED = "reviewed", _("reviewed")


class WeeklyItemKind(models.TextChoices):
    VISIT = "visit", _("visit")
    CALL = "call", _("call")
    OPPORTUNITY = "opportunity", _("advance an opportunity")
    OTHER = "other", _("other")

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class AgreementType(models.TextChoices):
    FRAMEWORK = "framework", _("framework agreement")
    SERVICE = "service", _("service agreement")
    PROJECT = "project", _("project agreement")


class AgreementStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    IN_APPROVAL = "in_approval", _("in approval")
    SIGNED = "signed", _("signed")
    ACTIVE = "active", pgettext_lazy("agreement status", "active")
    SUSPENDED = "suspended", _("suspended")
    TERMINATED = "terminated", _("terminated")
    EXPIRED = "expired", _("expired")
    RENEWED = "renewed", _("renewed")


# Statuses whose lines carry a revenue schedule (signed: it starts later; suspended/terminated: the
# schedule has been cut at the effective date, what came before still counts).
SCHEDULED_STATUSES = (AgreementStatus.SIGNED, AgreementStatus.ACTIVE, AgreementStatus.SUSPENDED,
                      AgreementStatus.TERMINATED, AgreementStatus.EXPIRED, AgreementStatus.RENEWED)


class BillingCycle(models.TextChoices):
    MONTHLY = "monthly", _("monthly")
    QUARTERLY = "quarterly", _("quarterly")
    YEARLY = "yearly", _("yearly")
    ONE_OFF = "one_off", _("one-off")
    USAGE = "usage", _("usage-based (estimate)")


class Rule(models.TextChoices):
    """How a line's value is split into monthly slices (agreements/schedule.py)."""

    MONTHLY = "monthly", _("straight-line by month")
    DAILY = "daily", _("pro-rated by day")
    ONE_OFF = "one_off", _("one-off in the month of delivery")
    MILESTONE = "milestone", _("milestone dates")
    USAGE = "usage", _("usage estimate")


class Remainder(models.TextChoices):
    """Which slice takes the rounding remainder (always less than one cent per slice)."""

    LAST = "last", _("last month")
    FIRST = "first", _("first month")


class ChangeKind(models.TextChoices):
    SIGNED = "signed", _("signed")
    AMENDED = "amended", _("amended")
    SUSPENDED = "suspended", _("suspended")
    RESUMED = "resumed", _("resumed")
    TERMINATED = "terminated", _("terminated early")
    RENEWED = "renewed", _("renewed")


class OrderStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("order status", "open")
    PARTLY_DELIVERED = "partly_delivered", _("partly delivered")
    DELIVERED = "delivered", _("delivered")
    CANCELLED = "cancelled", _("cancelled")

from django.db import models
from django.utils.translation import gettext_lazy as _


class MetricSource(models.TextChoices):
    """How a metric's actuals are computed (selectors.actuals); the metric rows themselves are editable."""

    EXPECTED = "expected", _("expected revenue (revenue schedules)")
    BILLED = "billed", _("billed revenue (invoices)")
    COLLECTED = "collected", _("collected cash (payments)")
    SIGNED = "signed", _("new signed contract value")
    WON = "won", _("won opportunity value")
    NEW_KEY_ACCOUNTS = "new_key_accounts", _("new key accounts")
    VISITS = "visits", _("completed visits")


# Sources counted in whole numbers rather than money.
COUNT_SOURCES = (MetricSource.NEW_KEY_ACCOUNTS, MetricSource.VISITS)


class PlanStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    SUBMITTED = "submitted", _("submitted")
    APPROVED = "approved", _("approved")
    SENT_BACK = "sent_back", _("sent back")


class ReviewAction(models.TextChoices):
    SUBMIT = "submit", _("submitted")
    APPROVE = "approve", _("approved")
    SEND_BACK = "send_back", _("sent back")


class RebalanceMode(models.TextChoices):
    UNALLOCATED = "unallocated", _("difference to unallocated")
    SHARES = "shares", _("in proportion to the current split")


class Period(models.TextChoices):
    MONTH = "month", _("month to date")
    QUARTER = "quarter", _("quarter to date")
    YEAR = "year", _("year to date")

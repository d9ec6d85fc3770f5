from django.db import models
from django.utils.translation import gettext_lazy as _


class StageKind(models.TextChoices):
    """Fixed meaning of an administrator-editable stage: still open, or closed as won or lost."""

    OPEN = "open", _("open")
    WON = "won", _("won")
    LOST = "lost", _("lost")


class OpportunitySource(models.TextChoices):
    CAMPAIGN = "campaign", _("campaign")
    LEAD_IMPORT = "lead_import", _("lead import")
    REFERRAL = "referral", _("referral")
    PARTNER = "partner", _("partner")
    INBOUND = "inbound", _("inbound enquiry")
    ACCOUNT_PLAN = "account_plan", _("account plan")
    OTHER = "other", _("other")


class ExitCriterion(models.TextChoices):
    """Checks a stage may require before an opportunity leaves it (forwards)."""

    HAS_CONTACT = "has_contact", _("at least one contact involved")
    HAS_LINES = "has_lines", _("at least one product line")
    AMOUNT_POSITIVE = "amount_positive", _("an amount above zero")
    HAS_CLOSE_DATE = "has_close_date", _("an expected close date")
    HAS_COMPETITOR = "has_competitor", _("the competitor named")


class RuleKind(models.TextChoices):
    """The funnel health checks (K3): each fires at most once per period per rule."""

    THIN_TOP = "thin_top", _("top of the funnel below k × the remaining target gap")
    LOW_CONVERSION = "low_conversion", _("a stage's conversion below its trailing median")
    STALE_DEALS = "stale_deals", _("deals older than the stage's 75th percentile")
    NO_ACTIVITY = "no_activity", _("no activity for N days")


class RulePeriod(models.TextChoices):
    WEEK = "week", _("week")
    MONTH = "month", _("month")

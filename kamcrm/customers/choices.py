from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Tier(models.TextChoices):
    STRATEGIC = "strategic", _("strategic account")
    KEY = "key", _("key account")
    NORMAL = "normal", _("normal account")


class AccountStatus(models.TextChoices):
    PROSPECT = "prospect", _("prospect")
    ACTIVE = "active", pgettext_lazy("account status", "active")
    DORMANT = "dormant", _("dormant")
    CLOSED = "closed", _("closed")


class Industry(models.TextChoices):
    GOVERNMENT = "government", _("government")
    FINANCE = "finance", _("finance")
    MANUFACTURING = "manufacturing", _("manufacturing")
    ENERGY = "energy", _("energy")
    TRANSPORT = "transport", _("transport and logistics")
    HEALTHCARE = "healthcare", _("healthcare")
    EDUCATION = "education", _("education")
    RETAIL = "retail", _("retail")
    HOSPITALITY = "hospitality", _("hotels and hospitality")
    INTERNET = "internet", _("internet and IT")
    MEDIA = "media", _("media")
    REAL_ESTATE = "real_estate", _("real estate and construction")
    OTHER = "other", _("other")


class DecisionRole(models.TextChoices):
    DECISION_MAKER = "decision_maker", _("decision maker")
    INFLUENCER = "influencer", _("influencer")
    USER = "user", pgettext_lazy("decision role", "user")
    GATEKEEPER = "gatekeeper", _("gatekeeper")


class Channel(models.TextChoices):
    PHONE = "phone", _("phone")
    MOBILE = "mobile", _("mobile")
    EMAIL = "email", _("email")
    WECHAT = "wechat", _("WeChat")
    VISIT = "visit", _("in person")


class TeamRole(models.TextChoices):
    ACCOUNT_MANAGER = "account_manager", _("account manager")
    SOLUTION = "solution", _("solution engineer")
    SERVICE = "service", _("service manager")
    SALES_SUPPORT = "sales_support", _("sales support")
    PARTNER = "partner", _("partner")
    EXECUTIVE_SPONSOR = "executive_sponsor", _("executive sponsor")


class InteractionKind(models.TextChoices):
    NOTE = "note", _("note")
    CALL = "call", _("call")
    VISIT = "visit", _("visit")
    EMAIL = "email", _("email")
    MEETING = "meeting", _("meeting")

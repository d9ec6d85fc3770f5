from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class InvoiceStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("invoice status", "open")
    PARTLY_PAID = "partly_paid", _("partly paid")
    PAID = "paid", _("paid")
    VOID = "void", _("void")


class PaymentMethod(models.TextChoices):
    TRANSFER = "transfer", _("bank transfer")
    DRAFT = "draft", _("bank acceptance draft")
    CARD = "card", _("card")
    CASH = "cash", _("cash")
    OTHER = "other", _("other")


class PromiseStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("promise status", "open")
    KEPT = "kept", _("kept")
    BROKEN = "broken", _("broken")


class CollectionKind(models.TextChoices):
    CALL = "call", _("call")
    LETTER = "letter", _("reminder letter")
    VISIT = "visit", _("visit")
    EMAIL = "email", _("email")
    ESCALATION = "escalation", _("escalation")


# Aging buckets by days past due on the as-of date: (code, label, lowest day, highest day or None).
AGING_BUCKETS = (
    ("current", _("current"), None, 0),
    ("d1_30", _("1–30 days"), 1, 30),
    ("d31_60", _("31–60 days"), 31, 60),
    ("d61_90", _("61–90 days"), 61, 90),
    ("d90_plus", _("over 90 days"), 91, None),
)

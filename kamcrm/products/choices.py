from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class ProductStatus(models.TextChoices):
    """A product's place in its lifecycle: planned, on sale, being retired (no new sales pushed), retired."""

    PLANNED = "planned", _("planned")
    ACTIVE = "active", pgettext_lazy("product status", "on sale")
    RETIRING = "retiring", _("retiring")
    RETIRED = "retired", _("retired")


class PlanPriority(models.TextChoices):
    """How hard a product line is pushed in a region in the plan year."""

    FOCUS = "focus", _("focus")
    GROW = "grow", _("grow")
    MAINTAIN = "maintain", _("maintain")
    EXIT = "exit", _("exit")

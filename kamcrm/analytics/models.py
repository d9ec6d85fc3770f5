"""Revenue facts (K4, K5, K7): the monthly expected revenue, billed revenue, collected cash and
recognised revenue (as finance reports it, agreements.RevenueRecognition) that
targets and reports read, kept current by the services (analytics.facts.facts_refresh) whenever an
agreement's schedule, an invoice or a payment changes.

Two grains (DESIGN.md, Scale):
- RevenueFact: account × product line × month — drill-down through indexes;
- RevenueRollup: owner × owning unit × region × product line × month — what dashboards read
  (thousands of rows, not millions). Kept by adding the same deltas as the account rows receive.

Owner and unit are those of the account on the first day of the month (from the ownership history),
so a reassignment leaves the months before its effective date with the previous owner.
"""
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

MONEY = {"max_digits": 18, "decimal_places": 2, "default": Decimal("0")}


class RevenueFact(models.Model):
    ACCOUNT_PATH = "account__"

    month = models.DateField(_("month"))
    account = models.ForeignKey("customers.Account", verbose_name=_("account"), on_delete=models.CASCADE,
                                related_name="+")
    product_line = models.ForeignKey("products.ProductLine", verbose_name=_("product line"), null=True,
                                     on_delete=models.PROTECT, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT,
                              related_name="+")
    owner_unit = models.ForeignKey("org.OrgUnit", verbose_name=_("owning unit"), on_delete=models.PROTECT,
                                   related_name="+")
    region = models.ForeignKey("org.OrgUnit", verbose_name=_("region"), on_delete=models.PROTECT, related_name="+")
    expected = models.DecimalField(_("expected revenue"), **MONEY)
    billed = models.DecimalField(_("billed revenue"), **MONEY)
    collected = models.DecimalField(_("collected cash"), **MONEY)
    recognised = models.DecimalField(_("recognised revenue"), **MONEY)

    class Meta:
        verbose_name = _("revenue fact")
        verbose_name_plural = _("revenue facts")
        indexes = [
            models.Index(fields=["account", "month"], name="fact_account_month"),
            models.Index(fields=["owner", "month"], name="fact_owner_month"),
            models.Index(fields=["owner_unit", "month"], name="fact_unit_month"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.month:%Y-%m}"


class RevenueRollup(models.Model):
    month = models.DateField(_("month"))
    product_line = models.ForeignKey("products.ProductLine", verbose_name=_("product line"), null=True,
                                     on_delete=models.PROTECT, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT,
                              related_name="+")
    owner_unit = models.ForeignKey("org.OrgUnit", verbose_name=_("owning unit"), on_delete=models.PROTECT,
                                   related_name="+")
    region = models.ForeignKey("org.OrgUnit", verbose_name=_("region"), on_delete=models.PROTECT, related_name="+")
    expected = models.DecimalField(_("expected revenue"), **MONEY)
    billed = models.DecimalField(_("billed revenue"), **MONEY)
    collected = models.DecimalField(_("collected cash"), **MONEY)
    recognised = models.DecimalField(_("recognised revenue"), **MONEY)

    class Meta:
        verbose_name = _("revenue roll-up")
        verbose_name_plural = _("revenue roll-ups")
        indexes = [
            models.Index(fields=["month", "owner_unit"], name="rollup_month_unit"),
            models.Index(fields=["owner", "month"], name="rollup_owner_month"),
            models.Index(fields=["owner_unit", "owner", "region", "product_line", "month"], name="rollup_key"),
        ]

    def __str__(self) -> str:
        return f"{self.owner_id} {self.month:%Y-%m}"

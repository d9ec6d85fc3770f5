"""Products (K11): product lines, products with codes, unit, list price, status and lifecycle, and the
yearly product plan (which lines are pushed in which regions) that sales, targets and analysis read."""
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kamcrm.core.models import ExternalIdModel, TimeStampedModel
from kamcrm.products.choices import PlanPriority, ProductStatus


class ProductLine(TimeStampedModel, ExternalIdModel):
    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("product line")
        verbose_name_plural = _("product lines")
        constraints = [*ExternalIdModel.Meta.constraints]

    def __str__(self) -> str:
        return self.name


class Product(TimeStampedModel, ExternalIdModel):
    line = models.ForeignKey(ProductLine, verbose_name=_("product line"), on_delete=models.PROTECT,
                             related_name="products")
    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    unit = models.CharField(_("unit"), max_length=20, blank=True, help_text=_("e.g. 条/月, 套, 年"))
    list_price = models.DecimalField(_("list price"), max_digits=14, decimal_places=2, default=Decimal("0"),
                                     validators=[MinValueValidator(Decimal("0"))])
    currency = models.CharField(_("currency"), max_length=3, default=settings.CURRENCY)
    status = models.CharField(_("status"), max_length=10, choices=ProductStatus.choices, default=ProductStatus.ACTIVE)
    launched_on = models.DateField(_("launched on"), null=True, blank=True)
    end_of_sale_on = models.DateField(_("end of sale"), null=True, blank=True)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("product")
        verbose_name_plural = _("products")
        constraints = [
            *ExternalIdModel.Meta.constraints,
            models.CheckConstraint(condition=Q(list_price__gte=0), name="products_product_price_not_negative"),
            models.CheckConstraint(
                condition=Q(launched_on__isnull=True) | Q(end_of_sale_on__isnull=True)
                | Q(end_of_sale_on__gte=models.F("launched_on")),
                name="products_product_lifecycle_order"),
        ]
        indexes = [
            models.Index(fields=["line", "code"], name="product_line_code"),
            models.Index(fields=["status", "code"], name="product_status_code"),
            models.Index(fields=["name"], name="product_name"),
        ]

    def __str__(self) -> str:
        return self.name


class ProductPlan(TimeStampedModel):
    """One line of the year's product plan: a product line pushed in a region, with a priority and an
    optional target amount."""

    year = models.PositiveSmallIntegerField(_("year"))
    line = models.ForeignKey(ProductLine, verbose_name=_("product line"), on_delete=models.PROTECT,
                             related_name="plans")
    region = models.ForeignKey("org.OrgUnit", verbose_name=_("region"), on_delete=models.PROTECT,
                               related_name="product_plans")
    priority = models.CharField(_("priority"), max_length=10, choices=PlanPriority.choices, default=PlanPriority.GROW)
    target_amount = models.DecimalField(_("target amount"), max_digits=16, decimal_places=2, null=True, blank=True,
                                        validators=[MinValueValidator(Decimal("0"))])
    notes = models.CharField(_("notes"), max_length=200, blank=True)

    class Meta:
        ordering = ["-year", "line__code", "region__path"]
        verbose_name = _("product plan line")
        verbose_name_plural = _("product plan")
        constraints = [models.UniqueConstraint(fields=["year", "line", "region"], name="products_plan_year_line_region")]
        indexes = [models.Index(fields=["year", "region"], name="productplan_year_region")]

    def __str__(self) -> str:
        return f"{self.year} {self.line} @ {self.region}"

"""Targets decomposed top-down (K7, issue 6; docs/decisions/0008-targets.md).

A TargetPlan per year and version holds TargetLine rows: one per node × metric × month, where a node is
an organisation unit or a person (optionally narrowed to a product line). Every line below the top points
to its parent's line for the same metric and month; every split parent has one `is_unallocated` line,
so that in every month and metric the children plus unallocated equal the parent. A parent changed after
its split carries `out_of_balance` until it is rebalanced (services.target_rebalance).
"""
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from kamcrm.core.models import TimeStampedModel
from kamcrm.targets.choices import COUNT_SOURCES, MetricSource, PlanStatus, ReviewAction


class Metric(TimeStampedModel):
    """A measure targets are set for. Administrators add, rename and order them; `source` says how the
    actuals are computed and never changes for a metric in use."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=60)
    name_en = models.CharField(_("name (English)"), max_length=60)
    source = models.CharField(_("actuals from"), max_length=20, choices=MetricSource.choices)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["order", "id"]
        verbose_name = _("metric")
        verbose_name_plural = _("metrics")

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return self.name_zh if (get_language() or "").startswith("zh") else self.name_en

    @property
    def is_count(self) -> bool:
        return self.source in COUNT_SOURCES

    @property
    def quantum(self) -> Decimal:
        return Decimal("1") if self.is_count else Decimal("0.01")


class TargetPlan(TimeStampedModel):
    """One year's targets. Approved figures are locked: a change after approval is made on the next
    version (`supersedes` points back), and the approved version stays as it was."""

    year = models.PositiveSmallIntegerField(_("year"), validators=[MinValueValidator(2000), MaxValueValidator(2100)])
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    name = models.CharField(_("name"), max_length=100, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=PlanStatus.choices, default=PlanStatus.DRAFT)
    supersedes = models.ForeignKey("self", verbose_name=_("supersedes"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("approved by"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-year", "-version"]
        verbose_name = _("target plan")
        verbose_name_plural = _("target plans")
        constraints = [models.UniqueConstraint(fields=["year", "version"], name="targets_plan_year_version")]

    def __str__(self) -> str:
        return self.name or f"{self.year} v{self.version}"

    @property
    def is_locked(self) -> bool:
        return self.status == PlanStatus.APPROVED


class TargetLine(models.Model):
    """One node's target for one metric and month (1–12). Unit nodes have `person` empty; person nodes
    carry the person's unit too, so a unit's subtree is one prefix match either way."""

    plan = models.ForeignKey(TargetPlan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="lines")
    metric = models.ForeignKey(Metric, verbose_name=_("metric"), on_delete=models.PROTECT, related_name="+")
    month = models.PositiveSmallIntegerField(_("month"), validators=[MinValueValidator(1), MaxValueValidator(12)])
    # "u<unit id>" or "p<person id>", with "/l<product line id>" when narrowed to a product line.
    node = models.CharField(_("node"), max_length=40)
    unit = models.ForeignKey("org.OrgUnit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("person"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    product_line = models.ForeignKey("products.ProductLine", verbose_name=_("product line"), null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    parent = models.ForeignKey("self", verbose_name=_("parent"), null=True, blank=True, on_delete=models.CASCADE,
                               related_name="children")
    level = models.PositiveSmallIntegerField(_("level"), default=0)
    is_unallocated = models.BooleanField(_("unallocated"), default=False)
    amount = models.DecimalField(_("amount"), max_digits=18, decimal_places=2, default=Decimal("0"))
    # Set when this line changed after it was split: its children no longer add up until rebalanced.
    out_of_balance = models.BooleanField(_("out of balance"), default=False)

    class Meta:
        ordering = ["plan", "metric", "level", "node", "month"]
        verbose_name = _("target line")
        verbose_name_plural = _("target lines")
        constraints = [
            models.UniqueConstraint(fields=["plan", "node", "metric", "month", "is_unallocated"],
                                    name="targets_line_node_month"),
            models.CheckConstraint(condition=Q(month__gte=1, month__lte=12), name="targets_line_month_1_12"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="targets_line_amount_not_negative"),
            models.CheckConstraint(condition=Q(is_unallocated=False) | Q(parent__isnull=False),
                                   name="targets_line_unallocated_has_parent"),
        ]
        indexes = [
            models.Index(fields=["plan", "parent"], name="tline_plan_parent"),
            models.Index(fields=["plan", "metric", "level", "month"], name="tline_plan_metric_level"),
            models.Index(fields=["plan", "out_of_balance"], name="tline_plan_unbalanced",
                         condition=Q(out_of_balance=True)),
        ]

    def __str__(self) -> str:
        tag = " (unallocated)" if self.is_unallocated else ""
        return f"{self.plan_id} {self.node} {self.metric_id} {self.month:02d}{tag}"


class TargetReview(models.Model):
    """A step of the approval at one level: the split below `unit` submitted, approved or sent back."""

    plan = models.ForeignKey(TargetPlan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="reviews")
    unit = models.ForeignKey("org.OrgUnit", verbose_name=_("level"), on_delete=models.PROTECT, related_name="+")
    action = models.CharField(_("action"), max_length=20, choices=ReviewAction.choices)
    comment = models.TextField(_("comment"), blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, blank=True,
                           on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(_("when"))

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("target review")
        verbose_name_plural = _("target reviews")
        indexes = [models.Index(fields=["plan", "unit", "at"], name="treview_plan_unit_at")]

    def __str__(self) -> str:
        return f"{self.plan_id} {self.unit_id} {self.action}"

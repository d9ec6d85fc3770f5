"""Agreements (K4, K5): contracts with their lines, the monthly revenue schedule of every line with
all its past versions, and orders against them.

Schedules are bitemporal: a slice says how much of a line's value falls in a month (`month`), and
when we believed that (`recorded_at` … `superseded_at`). A change from an effective date supersedes
the slices from that date's month on and writes new ones, so "what did we expect for March as of
January" is the slices of March recorded before and still valid in January.
"""
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kamcrm.agreements.choices import (
    AgreementStatus,
    AgreementType,
    BillingCycle,
    ChangeKind,
    OrderStatus,
    Remainder,
    Rule,
)
from kamcrm.core.models import ExternalIdModel, TimeStampedModel

MONEY = {"max_digits": 16, "decimal_places": 2}


class Agreement(TimeStampedModel, ExternalIdModel):
    ACCOUNT_PATH = "account__"

    account = models.ForeignKey("customers.Account", verbose_name=_("account"), on_delete=models.PROTECT,
                                related_name="agreements")
    number = models.CharField(_("agreement number"), max_length=60, unique=True)
    title = models.CharField(_("title"), max_length=200)
    type = models.CharField(_("type"), max_length=20, choices=AgreementType.choices, default=AgreementType.SERVICE)
    status = models.CharField(_("status"), max_length=20, choices=AgreementStatus.choices,
                              default=AgreementStatus.DRAFT)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT,
                              related_name="agreements")
    signing_unit = models.ForeignKey("org.OrgUnit", verbose_name=_("signing unit"), on_delete=models.PROTECT,
                                     related_name="signed_agreements")
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"))
    signed_on = models.DateField(_("signed on"), null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, default=settings.CURRENCY)
    # The sum of the lines' current values, kept by the services.
    total_value = models.DecimalField(_("total value"), **MONEY, default=Decimal("0"))
    partner = models.CharField(_("partner"), max_length=200, blank=True)
    opportunity = models.ForeignKey("sales.Opportunity", verbose_name=_("from opportunity"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="agreements")
    renews = models.ForeignKey("self", verbose_name=_("renews"), null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="renewals")
    renewal_notice_days = models.PositiveSmallIntegerField(_("renewal reminder (days before the end)"), default=60)
    # Set by the daily job when it gave the owner the renewal task, so that it does so once.
    renewal_reminded_on = models.DateField(_("renewal reminder sent on"), null=True, blank=True, editable=False)
    status_since = models.DateField(_("status since"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        ordering = ["-start_date", "-id"]
        verbose_name = _("agreement")
        verbose_name_plural = _("agreements")
        constraints = [
            *ExternalIdModel.Meta.constraints,
            models.CheckConstraint(condition=Q(end_date__gte=models.F("start_date")),
                                   name="agreements_agreement_end_after_start"),
        ]
        indexes = [
            models.Index(fields=["account", "-start_date"], name="agr_account_start"),
            models.Index(fields=["owner", "status"], name="agr_owner_status"),
            models.Index(fields=["status", "end_date"], name="agr_status_end"),
            models.Index(fields=["-start_date", "-id"], name="agr_start_id"),
            # targets: new signed contract value by month (completion, the unit × month grid)
            # (covering: the sum by owner reads the index alone)
            models.Index(fields=["signed_on", "owner", "total_value"], name="agr_signed_owner_value",
                         condition=Q(signed_on__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class AgreementLine(models.Model):
    """A product on an agreement. `amount` is the line's current value over its period; `rule` says how it
    is split into months. `version` counts the changes to the line's terms (1 when first scheduled)."""

    ACCOUNT_PATH = "agreement__account__"

    agreement = models.ForeignKey(Agreement, verbose_name=_("agreement"), on_delete=models.CASCADE,
                                  related_name="lines")
    product = models.ForeignKey("products.Product", verbose_name=_("product"), on_delete=models.PROTECT,
                                related_name="agreement_lines")
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=2, default=Decimal("1"),
                                   validators=[MinValueValidator(Decimal("0"))])
    unit_price = models.DecimalField(_("unit price"), max_digits=14, decimal_places=2,
                                     validators=[MinValueValidator(Decimal("0"))])
    amount = models.DecimalField(_("value"), **MONEY, validators=[MinValueValidator(Decimal("0"))])
    billing_cycle = models.CharField(_("billing cycle"), max_length=20, choices=BillingCycle.choices,
                                     default=BillingCycle.MONTHLY)
    rule = models.CharField(_("revenue rule"), max_length=20, choices=Rule.choices, default=Rule.MONTHLY)
    remainder = models.CharField(_("rounding remainder to"), max_length=10, choices=Remainder.choices,
                                 default=Remainder.LAST)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"))
    delivery_date = models.DateField(_("delivery date"), null=True, blank=True)
    # [["2027-03-31", "1000.00"], ...] for the milestone rule.
    milestones = models.JSONField(_("milestones"), default=list, blank=True)
    version = models.PositiveIntegerField(_("version"), default=0)

    class Meta:
        ordering = ["agreement", "id"]
        verbose_name = _("agreement line")
        verbose_name_plural = _("agreement lines")
        constraints = [models.CheckConstraint(condition=Q(amount__gte=0), name="agreements_line_amount_not_negative")]
        indexes = [models.Index(fields=["product", "agreement"], name="agrline_product")]

    def __str__(self) -> str:
        return f"{self.product} × {self.quantity}"


class AgreementChange(models.Model):
    """One change to an agreement's schedule (signing, amendment, suspension, resumption, early
    termination, renewal): when it takes effect, when it was recorded, by whom, and why."""

    ACCOUNT_PATH = "agreement__account__"

    agreement = models.ForeignKey(Agreement, verbose_name=_("agreement"), on_delete=models.CASCADE,
                                  related_name="changes")
    kind = models.CharField(_("kind"), max_length=20, choices=ChangeKind.choices)
    effective_date = models.DateField(_("effective from"))
    recorded_at = models.DateTimeField(_("recorded at"))
    by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, blank=True,
                           on_delete=models.SET_NULL, related_name="+")
    note = models.CharField(_("note"), max_length=300, blank=True)
    value_before = models.DecimalField(_("value before"), **MONEY, default=Decimal("0"))
    value_after = models.DecimalField(_("value after"), **MONEY, default=Decimal("0"))

    class Meta:
        ordering = ["agreement", "recorded_at", "id"]
        verbose_name = _("agreement change")
        verbose_name_plural = _("agreement changes")
        indexes = [models.Index(fields=["agreement", "recorded_at"], name="agrchange_agreement")]

    def __str__(self) -> str:
        return f"{self.agreement_id} {self.kind} {self.effective_date}"


class RevenueSlice(models.Model):
    """A line's expected revenue in one month, as believed from `recorded_at` until `superseded_at`
    (empty: still the current schedule). Written only by agreements.services; never updated except to
    set `superseded_at`. account, owner dimensions are not copied here: facts carry them."""

    ACCOUNT_PATH = "agreement__account__"

    line = models.ForeignKey(AgreementLine, verbose_name=_("agreement line"), on_delete=models.CASCADE,
                             related_name="slices")
    agreement = models.ForeignKey(Agreement, verbose_name=_("agreement"), on_delete=models.CASCADE,
                                  related_name="slices")
    month = models.DateField(_("month"))
    amount = models.DecimalField(_("expected revenue"), **MONEY)
    version = models.PositiveIntegerField(_("version"))
    recorded_at = models.DateTimeField(_("recorded at"))
    superseded_at = models.DateTimeField(_("superseded at"), null=True, blank=True)

    class Meta:
        ordering = ["line", "month", "version"]
        verbose_name = _("revenue slice")
        verbose_name_plural = _("revenue slices")
        constraints = [
            models.UniqueConstraint(fields=["line", "month"], condition=Q(superseded_at__isnull=True),
                                    name="agreements_slice_one_current_per_month"),
        ]
        indexes = [
            models.Index(fields=["line", "month"], name="slice_line_month"),
            models.Index(fields=["agreement", "month"], name="slice_agreement_month"),
        ]

    def __str__(self) -> str:
        return f"{self.line_id} {self.month:%Y-%m} {self.amount} v{self.version}"


class RevenueRecognition(models.Model):
    """Revenue recognised for an agreement line in a month, as finance reports it (imported, or sent
    through the API): what sits beside the expected slices and the billed invoices. One figure per line
    and month; a newer figure replaces it (the change is audited)."""

    ACCOUNT_PATH = "agreement__account__"

    agreement = models.ForeignKey(Agreement, verbose_name=_("agreement"), on_delete=models.CASCADE,
                                  related_name="recognitions")
    line = models.ForeignKey(AgreementLine, verbose_name=_("agreement line"), on_delete=models.CASCADE,
                             related_name="recognitions")
    month = models.DateField(_("month"))
    amount = models.DecimalField(_("recognised revenue"), **MONEY)
    recorded_at = models.DateTimeField(_("recorded at"))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["line", "month"]
        verbose_name = _("recognised revenue")
        verbose_name_plural = _("recognised revenue")
        constraints = [models.UniqueConstraint(fields=["line", "month"], name="agreements_recognition_line_month")]
        indexes = [models.Index(fields=["agreement", "month"], name="recognition_agreement_month")]

    def __str__(self) -> str:
        return f"{self.line_id} {self.month:%Y-%m} {self.amount}"


class Order(TimeStampedModel, ExternalIdModel):
    ACCOUNT_PATH = "account__"

    account = models.ForeignKey("customers.Account", verbose_name=_("account"), on_delete=models.PROTECT,
                                related_name="orders")
    agreement = models.ForeignKey(Agreement, verbose_name=_("agreement"), null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="orders")
    number = models.CharField(_("order number"), max_length=60, unique=True)
    ordered_on = models.DateField(_("ordered on"))
    status = models.CharField(_("status"), max_length=20, choices=OrderStatus.choices, default=OrderStatus.OPEN)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT,
                              related_name="orders")
    total = models.DecimalField(_("total"), **MONEY, default=Decimal("0"))

    class Meta:
        ordering = ["-ordered_on", "-id"]
        verbose_name = pgettext_lazy("sales order", "order")
        verbose_name_plural = _("orders")
        indexes = [models.Index(fields=["account", "-ordered_on"], name="order_account_date")]

    def __str__(self) -> str:
        return self.number


class OrderLine(models.Model):
    ACCOUNT_PATH = "order__account__"

    order = models.ForeignKey(Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey("products.Product", verbose_name=_("product"), on_delete=models.PROTECT,
                                related_name="order_lines")
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=2,
                                   validators=[MinValueValidator(Decimal("0"))])
    unit_price = models.DecimalField(_("unit price"), max_digits=14, decimal_places=2,
                                     validators=[MinValueValidator(Decimal("0"))])
    amount = models.DecimalField(_("amount"), **MONEY)
    delivered_quantity = models.DecimalField(_("delivered"), max_digits=12, decimal_places=2, default=Decimal("0"),
                                             validators=[MinValueValidator(Decimal("0"))])

    class Meta:
        ordering = ["order", "id"]
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        indexes = [models.Index(fields=["product", "order"], name="orderline_product")]

    def __str__(self) -> str:
        return f"{self.product} × {self.quantity}"

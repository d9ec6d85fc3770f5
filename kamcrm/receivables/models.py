"""Receivables (K5): invoices, payments and their allocation to invoices, collection promises and
collection activities. Balances are never typed in: an invoice's paid amount is the sum of the
allocations to it, kept by receivables.services; a payment's unallocated part is an advance."""
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kamcrm.core.models import ExternalIdModel, TimeStampedModel
from kamcrm.receivables.choices import CollectionKind, InvoiceStatus, PaymentMethod, PromiseStatus

MONEY = {"max_digits": 16, "decimal_places": 2}


class Invoice(TimeStampedModel, ExternalIdModel):
    ACCOUNT_PATH = "account__"

    account = models.ForeignKey("customers.Account", verbose_name=_("account"), on_delete=models.PROTECT,
                                related_name="invoices")
    agreement = models.ForeignKey("agreements.Agreement", verbose_name=_("agreement"), null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="invoices")
    number = models.CharField(_("invoice number"), max_length=60, unique=True)
    invoice_date = models.DateField(_("invoice date"))
    due_date = models.DateField(_("due date"))
    # Net revenue billed (what the revenue facts count), the tax on it, and what the customer owes.
    amount = models.DecimalField(_("amount (net)"), **MONEY, validators=[MinValueValidator(Decimal("0"))])
    tax = models.DecimalField(_("tax"), **MONEY, default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))])
    total = models.DecimalField(_("total (with tax)"), **MONEY)
    currency = models.CharField(_("currency"), max_length=3, default=settings.CURRENCY)
    status = models.CharField(_("status"), max_length=20, choices=InvoiceStatus.choices, default=InvoiceStatus.OPEN)
    paid_amount = models.DecimalField(_("paid"), **MONEY, default=Decimal("0"))
    settled_on = models.DateField(_("settled on"), null=True, blank=True,
                                  help_text=_("The day the last payment made it fully paid."))
    disputed = models.BooleanField(_("disputed"), default=False)
    # The product line the revenue belongs to, when the billing system says (revenue facts by line).
    product_line = models.ForeignKey("products.ProductLine", verbose_name=_("product line"), null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    # Set by the daily overdue check, so that each invoice alerts its owner once and escalates once.
    overdue_alerted_on = models.DateField(_("overdue alert sent on"), null=True, blank=True)
    escalated_on = models.DateField(_("escalated on"), null=True, blank=True)

    class Meta:
        ordering = ["-invoice_date", "-id"]
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        constraints = [
            *ExternalIdModel.Meta.constraints,
            models.CheckConstraint(condition=Q(due_date__gte=models.F("invoice_date")),
                                   name="receivables_invoice_due_after_date"),
        ]
        indexes = [
            models.Index(fields=["account", "-invoice_date"], name="inv_account_date"),
            models.Index(fields=["status", "due_date"], name="inv_status_due"),
            models.Index(fields=["-invoice_date", "-id"], name="inv_date_id"),
            # The invoice list's "due first" sort (keyset on due date, id).
            models.Index(fields=["due_date", "id"], name="inv_due_id"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def balance(self) -> Decimal:
        return self.total - self.paid_amount


class Payment(TimeStampedModel, ExternalIdModel):
    ACCOUNT_PATH = "account__"

    account = models.ForeignKey("customers.Account", verbose_name=_("account"), on_delete=models.PROTECT,
                                related_name="payments")
    received_on = models.DateField(_("received on"))
    amount = models.DecimalField(_("amount"), **MONEY, validators=[MinValueValidator(Decimal("0.01"))])
    method = models.CharField(_("method"), max_length=20, choices=PaymentMethod.choices, default=PaymentMethod.TRANSFER)
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    allocated = models.DecimalField(_("allocated"), **MONEY, default=Decimal("0"))

    class Meta:
        ordering = ["-received_on", "-id"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        indexes = [
            models.Index(fields=["account", "-received_on"], name="pay_account_date"),
            # The payment list (API) across accounts: keyset on received date, id.
            models.Index(fields=["-received_on", "-id"], name="pay_date_id"),
        ]

    def __str__(self) -> str:
        return f"{self.received_on} {self.amount}"

    @property
    def unallocated(self) -> Decimal:
        return self.amount - self.allocated


class PaymentAllocation(models.Model):
    ACCOUNT_PATH = "payment__account__"

    payment = models.ForeignKey(Payment, verbose_name=_("payment"), on_delete=models.CASCADE,
                                related_name="allocations")
    invoice = models.ForeignKey(Invoice, verbose_name=_("invoice"), on_delete=models.CASCADE,
                                related_name="allocations")
    amount = models.DecimalField(_("amount"), **MONEY, validators=[MinValueValidator(Decimal("0.01"))])

    class Meta:
        verbose_name = _("payment allocation")
        verbose_name_plural = _("payment allocations")
        constraints = [models.UniqueConstraint(fields=["payment", "invoice"], name="receivables_alloc_uniq")]
        indexes = [models.Index(fields=["invoice"], name="alloc_invoice")]

    def __str__(self) -> str:
        return f"{self.payment_id} → {self.invoice_id}: {self.amount}"


class CollectionPromise(TimeStampedModel):
    """A promise to pay, from the collection plan: how much, by when, and whether it was kept."""

    ACCOUNT_PATH = "account__"

    account = models.ForeignKey("customers.Account", verbose_name=_("account"), on_delete=models.CASCADE,
                                related_name="collection_promises")
    invoice = models.ForeignKey(Invoice, verbose_name=_("invoice"), null=True, blank=True, on_delete=models.CASCADE,
                                related_name="promises")
    promised_on = models.DateField(_("promised for"))
    amount = models.DecimalField(_("amount"), **MONEY, validators=[MinValueValidator(Decimal("0.01"))])
    status = models.CharField(_("status"), max_length=10, choices=PromiseStatus.choices, default=PromiseStatus.OPEN)
    note = models.CharField(_("note"), max_length=300, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True, blank=True,
                           on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["promised_on", "id"]
        verbose_name = _("payment promise")
        verbose_name_plural = _("payment promises")
        indexes = [models.Index(fields=["account", "promised_on"], name="promise_account_date")]


class CollectionActivity(models.Model):
    ACCOUNT_PATH = "account__"

    account = models.ForeignKey("customers.Account", verbose_name=_("account"), on_delete=models.CASCADE,
                                related_name="collection_activities")
    invoice = models.ForeignKey(Invoice, verbose_name=_("invoice"), null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="collection_activities")
    kind = models.CharField(_("kind"), max_length=20, choices=CollectionKind.choices)
    occurred_at = models.DateTimeField(_("when"))
    note = models.TextField(_("note"), blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, blank=True,
                           on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("collection activity")
        verbose_name_plural = _("collection activities")
        indexes = [models.Index(fields=["account", "-occurred_at"], name="collact_account_at")]

    def __str__(self) -> str:
        return f"{self.kind} {self.occurred_at:%Y-%m-%d}"

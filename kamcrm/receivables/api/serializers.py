"""Serializers of invoices, payments (with their allocations) and the receivables reports. Bodies name
related records by id or, for records fed from another system, by a natural key
(`account_external_id` in the same source system, `invoice_number`). Serializers only parse; the
receivables services validate the rest and write."""
from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from kamcrm.agreements.models import Agreement
from kamcrm.core.api.serializers import (
    BriefRelatedField,
    DetailUrlField,
    DisplayField,
    ModelSerializer,
    ReferenceSerializerMixin,
    resolve_reference,
)
from kamcrm.customers.api.serializers import BriefAccountSerializer
from kamcrm.customers.models import Account
from kamcrm.org.selectors import visible
from kamcrm.products.api.serializers import BriefProductLineSerializer
from kamcrm.products.models import ProductLine
from kamcrm.receivables.choices import AGING_BUCKETS
from kamcrm.receivables.models import Invoice, Payment, PaymentAllocation

__all__ = ["AgingQuerySerializer", "AgingSerializer", "BalanceQuerySerializer", "BalanceRowSerializer",
           "BriefInvoiceSerializer", "BriefPaymentSerializer", "DsoSerializer", "InvoiceSerializer",
           "PaidLateSerializer", "PaymentAllocateSerializer", "PaymentSerializer"]

MONEY = {"max_digits": 18, "decimal_places": 2}


def _source_system(serializer: serializers.Serializer, attrs: dict) -> str:
    if "source_system" in serializer.context:
        return serializer.context["source_system"]
    if "source_system" in attrs:
        return attrs["source_system"]
    return getattr(serializer.instance, "source_system", "") or ""


def _user(serializer: serializers.Serializer):  # noqa: ANN202
    return getattr(serializer.context.get("request"), "user", None)


def _status_field() -> serializers.CharField:
    # Plain text in the schema: an enum named after the field would collide with other apps' `status`.
    return serializers.CharField(read_only=True, help_text=_("open, partly_paid, paid or void; follows from the "
                                                             "payments allocated."))


class BriefInvoiceSerializer(ModelSerializer):
    url = DetailUrlField(view_name="api:invoice-detail")
    display = DisplayField()
    status = _status_field()

    class Meta:
        model = Invoice
        fields = ["id", "url", "display", "number", "status"]


class BriefPaymentSerializer(ModelSerializer):
    url = DetailUrlField(view_name="api:payment-detail")
    display = DisplayField()

    class Meta:
        model = Payment
        fields = ["id", "url", "display", "received_on", "amount"]


class InvoiceAllocationSerializer(ModelSerializer):
    payment = BriefPaymentSerializer(read_only=True)

    class Meta:
        model = PaymentAllocation
        fields = ["id", "payment", "amount"]
        read_only_fields = fields


class InvoiceSerializer(ReferenceSerializerMixin, ModelSerializer):
    url = DetailUrlField(view_name="api:invoice-detail")
    display = DisplayField()
    status = _status_field()
    account = BriefRelatedField(BriefAccountSerializer, queryset=Account.objects.all(), scope=visible, required=False)
    agreement = serializers.PrimaryKeyRelatedField(queryset=Agreement.objects.all(), required=False, allow_null=True,
                                                   help_text=_("The agreement billed (id); the same account's."))
    product_line = BriefRelatedField(BriefProductLineSerializer, queryset=ProductLine.objects.all(), required=False,
                                     allow_null=True)
    due_date = serializers.DateField(required=False, help_text=_("30 days after the invoice date when left out."))
    tax = serializers.DecimalField(**MONEY, min_value=0, required=False)
    balance = serializers.DecimalField(**MONEY, read_only=True, help_text=_("Total less the payments allocated."))
    allocations = InvoiceAllocationSerializer(many=True, read_only=True)
    account_external_id = serializers.CharField(
        write_only=True, required=False,
        help_text=_("The account by its external id in the same source system, instead of `account`."))
    required_on_create = {"account": "account_external_id"}

    class Meta:
        model = Invoice
        fields = ["id", "url", "display", "account", "number", "invoice_date", "due_date", "amount", "tax", "total",
                  "currency", "status", "paid_amount", "balance", "settled_on", "disputed", "agreement",
                  "product_line", "overdue_alerted_on", "escalated_on", "allocations", "source_system", "external_id",
                  "created_at", "updated_at", "account_external_id"]
        read_only_fields = ["total", "status", "paid_amount", "settled_on", "overdue_alerted_on", "escalated_on",
                            "created_at", "updated_at"]
        validators: list = []  # number and external id uniqueness: the service names the field
        extra_kwargs = {"number": {"validators": []}, "amount": {"min_value": 0}}

    def get_fields(self):
        fields = super().get_fields()
        fields["agreement"].queryset = visible(Agreement.objects.all(), _user(self))
        return fields

    def validate(self, attrs):
        errors: dict[str, list[str]] = {}
        source = _source_system(self, attrs)
        resolve_reference(attrs, errors, field="account", alt="account_external_id",
                          lookup=lambda v: visible(Account.objects.filter(source_system=source, external_id=v),
                                                   _user(self)).first(),
                          missing=str(_("No account with external id “%(value)s” in this source system.")))
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class AllocationInputSerializer(serializers.Serializer):
    invoice = serializers.PrimaryKeyRelatedField(queryset=Invoice.objects.all(), required=False)
    invoice_number = serializers.CharField(required=False, help_text=_("The invoice by its number, instead of "
                                                                       "`invoice`."))
    amount = serializers.DecimalField(**MONEY, required=False,
                                      help_text=_("As much as the invoice has open (and the payment has left) when "
                                                  "left out."))

    def get_fields(self):
        fields = super().get_fields()
        fields["invoice"].queryset = visible(Invoice.objects.all(), _user(self))
        return fields

    def validate(self, attrs):
        errors: dict[str, list[str]] = {}
        resolve_reference(attrs, errors, field="invoice", alt="invoice_number",
                          lookup=lambda v: visible(Invoice.objects.filter(number=v), _user(self)).first(),
                          missing=str(_("No invoice numbered “%(value)s”, or you may not see it.")))
        if errors:
            raise serializers.ValidationError(errors)
        if attrs.get("invoice") is None:
            raise serializers.ValidationError({"invoice": [str(_("This field is required."))]})
        return attrs


class PaymentAllocationSerializer(ModelSerializer):
    invoice = BriefInvoiceSerializer(read_only=True)

    class Meta:
        model = PaymentAllocation
        fields = ["id", "invoice", "amount"]
        read_only_fields = fields


class PaymentSerializer(ReferenceSerializerMixin, ModelSerializer):
    url = DetailUrlField(view_name="api:payment-detail")
    display = DisplayField()
    account = BriefRelatedField(BriefAccountSerializer, queryset=Account.objects.all(), scope=visible, required=False)
    unallocated = serializers.DecimalField(**MONEY, read_only=True, help_text=_("The advance left on the payment."))
    allocations = PaymentAllocationSerializer(many=True, read_only=True)
    allocate = AllocationInputSerializer(many=True, write_only=True, required=False,
                                         help_text=_("Invoices this payment pays, and how much of each (partial "
                                                     "allowed). Whatever is not allocated stays an advance."))
    auto_allocate = serializers.BooleanField(write_only=True, required=False, default=False,
                                             help_text=_("Without `allocate`: pay the account's open invoices, "
                                                         "oldest due first."))
    account_external_id = serializers.CharField(
        write_only=True, required=False,
        help_text=_("The account by its external id in the same source system, instead of `account`."))
    required_on_create = {"account": "account_external_id"}

    class Meta:
        model = Payment
        fields = ["id", "url", "display", "account", "received_on", "amount", "method", "reference", "allocated",
                  "unallocated", "allocations", "allocate", "auto_allocate", "source_system", "external_id",
                  "created_at", "account_external_id"]
        read_only_fields = ["allocated", "created_at"]
        validators: list = []

    def validate(self, attrs):
        errors: dict[str, list[str]] = {}
        source = _source_system(self, attrs)
        resolve_reference(attrs, errors, field="account", alt="account_external_id",
                          lookup=lambda v: visible(Account.objects.filter(source_system=source, external_id=v),
                                                   _user(self)).first(),
                          missing=str(_("No account with external id “%(value)s” in this source system.")))
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class PaymentAllocateSerializer(serializers.Serializer):
    allocate = AllocationInputSerializer(many=True, help_text=_("Invoices of the same account, and how much of "
                                                                "the payment's unallocated part goes to each."))


# --- reports ---------------------------------------------------------------------------------------

class ScopeQuerySerializer(serializers.Serializer):
    account = serializers.IntegerField(required=False, help_text=_("Only this account."))
    group = serializers.IntegerField(required=False, help_text=_("This account and its subsidiaries at every level."))
    owner = serializers.IntegerField(required=False, help_text=_("Only accounts of this account manager."))
    owner_unit = serializers.IntegerField(required=False, help_text=_("Only accounts owned in this unit's subtree."))


class AgingQuerySerializer(ScopeQuerySerializer):
    as_of = serializers.DateField(required=False, help_text=_("The day (default today); only payments received by "
                                                              "then count."))
    group_by = serializers.ChoiceField(choices=["account", "unit"], required=False,
                                       help_text=_("Also one row per account (the largest balances) or per owning "
                                                   "unit."))
    disputed = serializers.BooleanField(required=False, allow_null=True, default=None)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=500, default=50)


class BucketSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=[c for c, _l, _lo, _hi in AGING_BUCKETS])
    label = serializers.CharField()
    count = serializers.IntegerField()
    amount = serializers.DecimalField(**MONEY)


class AgingRowSerializer(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True, source="key")
    label = serializers.CharField()
    count = serializers.IntegerField()
    total = serializers.DecimalField(**MONEY)
    buckets = BucketSerializer(many=True, source="bucket_list")


class AgingSerializer(serializers.Serializer):
    as_of = serializers.DateField()
    group_by = serializers.CharField(allow_null=True)
    totals = AgingRowSerializer()
    rows = AgingRowSerializer(many=True)
    more = serializers.BooleanField(help_text=_("More accounts have open balances than the rows listed."))


class BalanceQuerySerializer(ScopeQuerySerializer):
    groups = serializers.BooleanField(required=False, default=False,
                                      help_text=_("One row per group customer, its subsidiaries' balances included."))
    limit = serializers.IntegerField(required=False, min_value=1, max_value=500, default=50)


class BalanceRowSerializer(serializers.Serializer):
    account = BriefAccountSerializer()
    open = serializers.DecimalField(**MONEY, source="balance.open")
    overdue = serializers.DecimalField(**MONEY, source="balance.overdue")
    advances = serializers.DecimalField(**MONEY, source="balance.advances")
    net = serializers.DecimalField(**MONEY, source="balance.net")
    open_count = serializers.IntegerField(source="balance.open_count")
    overdue_count = serializers.IntegerField(source="balance.overdue_count")
    members = serializers.IntegerField(help_text=_("Subsidiaries whose balances are included (groups only)."))


class DsoQuerySerializer(ScopeQuerySerializer):
    as_of = serializers.DateField(required=False)
    days = serializers.IntegerField(required=False, min_value=1, max_value=3660, default=90)


class DsoSerializer(serializers.Serializer):
    as_of = serializers.DateField()
    days = serializers.IntegerField()
    receivables = serializers.DecimalField(**MONEY)
    billed = serializers.DecimalField(**MONEY)
    value = serializers.DecimalField(max_digits=12, decimal_places=1, allow_null=True,
                                     help_text=_("Receivables open at the end of `as_of` ÷ invoiced in the `days` "
                                                 "days up to it × `days`."))


class PaidLateGroupSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    late = serializers.IntegerField()
    avg_days_late = serializers.DecimalField(max_digits=12, decimal_places=4, allow_null=True)


class PaidLateSerializer(serializers.Serializer):
    settled = serializers.IntegerField()
    late = serializers.IntegerField()
    late_share = serializers.DecimalField(max_digits=6, decimal_places=4, allow_null=True)
    late_amount = serializers.DecimalField(**MONEY)
    avg_days_late = serializers.DecimalField(max_digits=12, decimal_places=4, allow_null=True)
    avg_days_late_when_late = serializers.DecimalField(max_digits=12, decimal_places=4, allow_null=True)
    max_days_late = serializers.IntegerField()
    avg_days_to_settle = serializers.DecimalField(max_digits=12, decimal_places=4, allow_null=True)
    disputed = PaidLateGroupSerializer()
    undisputed = PaidLateGroupSerializer()

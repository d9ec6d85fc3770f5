"""Serializers of agreements (with their lines), their changes and revenue schedule, and orders. Bodies
name related records by id or, for records fed from another system, by a natural key
(`account_external_id` in the same source system, `owner_username`, `product_code`).
Serializers only parse; the agreements services validate the rest and write."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from kamcrm.agreements.choices import Remainder, Rule
from kamcrm.agreements.models import Agreement, AgreementChange, AgreementLine, Order, OrderLine
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
from kamcrm.org.api.serializers import BriefOrgUnitSerializer, BriefUserSerializer
from kamcrm.org.models import OrgUnit, User
from kamcrm.org.selectors import visible
from kamcrm.products.api.serializers import BriefProductSerializer
from kamcrm.products.models import Product
from kamcrm.sales.api.serializers import BriefOpportunitySerializer
from kamcrm.sales.models import Opportunity

__all__ = ["AgreementChangeSerializer", "AgreementLineSerializer", "AgreementSerializer", "AmendSerializer",
           "BriefAgreementSerializer", "BriefOrderSerializer", "DeliverSerializer", "EffectiveSerializer",
           "OrderSerializer", "RenewSerializer", "ScheduleQuerySerializer", "ScheduleSerializer", "SignSerializer"]

MONEY = {"max_digits": 16, "decimal_places": 2}


@extend_schema_field({"type": "array", "items": {"type": "array", "minItems": 2, "maxItems": 2,
                                                 "items": {"type": "string"}},
                      "description": "Milestones of the milestone rule: [[\"2026-03-31\", \"1000.00\"], ...]."})
class MilestonesField(serializers.Field):
    default_error_messages = {"invalid": _("A list of [date (YYYY-MM-DD), amount] pairs is required.")}

    def to_internal_value(self, data):
        if not isinstance(data, list):
            self.fail("invalid")
        out = []
        for item in data:
            if isinstance(item, dict):
                item = [item.get("date"), item.get("amount")]
            if not isinstance(item, list | tuple) or len(item) != 2:
                self.fail("invalid")
            try:
                day = dt.date.fromisoformat(str(item[0]))
                amount = Decimal(str(item[1]))
            except (ValueError, ArithmeticError):
                self.fail("invalid")
            if not amount.is_finite():
                self.fail("invalid")
            out.append([day.isoformat(), str(amount)])
        return out

    def to_representation(self, value):
        return [[str(d), str(a)] for d, a in value or []]


def _resolve_product(attrs: dict) -> None:
    errors: dict[str, list[str]] = {}
    resolve_reference(attrs, errors, field="product", alt="product_code",
                      lookup=lambda v: Product.objects.filter(code=v).first(),
                      missing=str(_("No product with code “%(value)s”.")))
    if errors:
        raise serializers.ValidationError(errors)


class AgreementLineSerializer(ModelSerializer):
    product = BriefRelatedField(BriefProductSerializer, queryset=Product.objects.all(), required=False)
    product_code = serializers.CharField(write_only=True, required=False,
                                         help_text=_("The product by its code, instead of `product`."))
    quantity = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0, required=False)
    unit_price = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, required=False)
    amount = serializers.DecimalField(**MONEY, min_value=0, required=False,
                                      help_text=_("The line's value over its period; empty: quantity × unit price."))
    milestones = MilestonesField(required=False)

    class Meta:
        model = AgreementLine
        fields = ["id", "product", "product_code", "quantity", "unit_price", "amount", "billing_cycle", "rule",
                  "remainder", "start_date", "end_date", "delivery_date", "milestones", "version"]
        read_only_fields = ["id", "version"]
        extra_kwargs = {"start_date": {"required": False}, "end_date": {"required": False}}

    def validate(self, attrs):
        _resolve_product(attrs)
        if attrs.get("product") is None:
            raise serializers.ValidationError({"product": [str(_("This field is required."))]})
        if attrs.get("amount") is None and attrs.get("unit_price") is None:
            raise serializers.ValidationError({"unit_price": [str(_("Give a unit price or the line's value."))]})
        return attrs


class BriefAgreementSerializer(ModelSerializer):
    url = DetailUrlField(view_name="api:agreement-detail")
    display = DisplayField()

    class Meta:
        model = Agreement
        fields = ["id", "url", "display", "number", "status"]


def _source_system(serializer: serializers.Serializer, attrs: dict) -> str:
    if "source_system" in serializer.context:
        return serializer.context["source_system"]
    if "source_system" in attrs:
        return attrs["source_system"]
    return getattr(serializer.instance, "source_system", "") or ""


class AgreementSerializer(ReferenceSerializerMixin, ModelSerializer):
    url = DetailUrlField(view_name="api:agreement-detail")
    display = DisplayField()
    account = BriefRelatedField(BriefAccountSerializer, queryset=Account.objects.all(), scope=visible,
                                required=False)
    owner = BriefRelatedField(BriefUserSerializer, queryset=User.objects.filter(is_active=True), required=False,
                              help_text=_("Defaults to the user making the request."))
    signing_unit = BriefRelatedField(BriefOrgUnitSerializer, queryset=OrgUnit.objects.all(), required=False,
                                     help_text=_("Defaults to the owner's unit."))
    opportunity = BriefRelatedField(BriefOpportunitySerializer, queryset=Opportunity.objects.all(), scope=visible,
                                    required=False, allow_null=True)
    renews = BriefAgreementSerializer(read_only=True, allow_null=True)
    lines = AgreementLineSerializer(many=True, required=False,
                                    help_text=_("The lines; on a draft they replace the old ones when given. A signed "
                                                "agreement's lines change through `POST /agreements/{id}/amend/`."))
    account_external_id = serializers.CharField(
        write_only=True, required=False,
        help_text=_("The account by its external id in the same source system, instead of `account`."))
    owner_username = serializers.CharField(write_only=True, required=False,
                                           help_text=_("The owner by login name, instead of `owner`."))
    # Not an enum in the schema: several models have a "status" with their own values (AgreementStatus here).
    status = serializers.CharField(read_only=True, help_text=_("draft, in_approval, signed, active, suspended, "
                                                               "terminated, expired or renewed."))
    required_on_create = {"account": "account_external_id"}

    class Meta:
        model = Agreement
        fields = ["id", "url", "display", "account", "number", "title", "type", "status", "status_since", "owner",
                  "signing_unit", "start_date", "end_date", "signed_on", "currency", "total_value", "partner",
                  "opportunity", "renews", "renewal_notice_days", "notes", "lines", "source_system", "external_id",
                  "created_at", "updated_at", "account_external_id", "owner_username"]
        read_only_fields = ["status", "status_since", "signed_on", "total_value", "created_at", "updated_at"]
        validators: list = []  # uniqueness is checked by the service's full_clean, with the field named
        extra_kwargs = {"number": {"validators": []}}

    def validate(self, attrs):
        errors: dict[str, list[str]] = {}
        user = getattr(self.context.get("request"), "user", None)
        source = _source_system(self, attrs)
        resolve_reference(attrs, errors, field="account", alt="account_external_id",
                          lookup=lambda v: visible(Account.objects.filter(source_system=source, external_id=v),
                                                   user).first(),
                          missing=str(_("No account with external id “%(value)s” in this source system.")))
        resolve_reference(attrs, errors, field="owner", alt="owner_username",
                          lookup=lambda v: User.objects.filter(username=v, is_active=True).first(),
                          missing=str(_("No active user with login name “%(value)s”.")))
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class AgreementChangeSerializer(ModelSerializer):
    by = BriefUserSerializer(read_only=True, allow_null=True)

    class Meta:
        model = AgreementChange
        fields = ["id", "kind", "effective_date", "recorded_at", "by", "note", "value_before", "value_after"]
        read_only_fields = fields


# ---- actions ------------------------------------------------------------------------------------

class SignSerializer(serializers.Serializer):
    signed_on = serializers.DateField(required=False, help_text=_("Defaults to today."))


class EffectiveSerializer(serializers.Serializer):
    effective = serializers.DateField(help_text=_("The day the change takes effect."))
    note = serializers.CharField(required=False, allow_blank=True, max_length=300)


class AmendLineSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text=_("The line to change."))
    amount = serializers.DecimalField(**MONEY, min_value=0, required=False,
                                      help_text=_("The line's new total value."))
    quantity = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0, required=False)
    unit_price = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, required=False)
    end_date = serializers.DateField(required=False)
    rule = serializers.ChoiceField(choices=Rule.choices, required=False)
    remainder = serializers.ChoiceField(choices=Remainder.choices, required=False)
    delivery_date = serializers.DateField(required=False, allow_null=True)
    milestones = MilestonesField(required=False)


class AmendSerializer(serializers.Serializer):
    effective = serializers.DateField(help_text=_("The months before this date's month keep their figures."))
    end_date = serializers.DateField(required=False, help_text=_("A new end of the agreement."))
    note = serializers.CharField(required=False, allow_blank=True, max_length=300)
    lines = AmendLineSerializer(many=True, required=False)
    add = AgreementLineSerializer(many=True, required=False, help_text=_("New lines, from the effective date on."))
    remove = serializers.ListField(child=serializers.IntegerField(), required=False,
                                   help_text=_("Ids of lines to end the day before the effective date."))


class RenewSerializer(serializers.Serializer):
    number = serializers.CharField(max_length=60, help_text=_("The renewal's agreement number."))
    end_date = serializers.DateField()
    start_date = serializers.DateField(required=False, help_text=_("Defaults to the day after this one ends."))
    title = serializers.CharField(required=False, max_length=200)


# ---- the schedule -------------------------------------------------------------------------------

class ScheduleQuerySerializer(serializers.Serializer):
    as_of = serializers.CharField(required=False, help_text=_("A date (the end of that day) or a date-time: the "
                                                               "schedule as it stood then. Empty: now."))


class ScheduleLineSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    product = BriefProductSerializer()
    amounts = serializers.ListField(child=serializers.DecimalField(**MONEY, allow_null=True),
                                    help_text=_("One per month of `months`; null where the line has no slice."))
    total = serializers.DecimalField(**MONEY)


class ScheduleSerializer(serializers.Serializer):
    as_of = serializers.DateTimeField(allow_null=True)
    months = serializers.ListField(child=serializers.CharField(), help_text=_("YYYY-MM"))
    lines = ScheduleLineSerializer(many=True)
    totals = serializers.ListField(child=serializers.DecimalField(**MONEY))
    total = serializers.DecimalField(**MONEY)
    billed = serializers.ListField(child=serializers.DecimalField(**MONEY),
                                   help_text=_("Billed per month of `months` (the agreement's invoices, now)."))
    recognised = serializers.ListField(child=serializers.DecimalField(**MONEY),
                                       help_text=_("Recognised per month of `months` (as recorded now)."))


class RecognitionSerializer(serializers.Serializer):
    """One month's recognised revenue for one line of the agreement."""

    line = serializers.IntegerField(help_text=_("The agreement line (its id, from `lines/`)."))
    month = serializers.DateField(input_formats=["%Y-%m", "%Y-%m-%d"], format="%Y-%m",
                                  help_text=_("YYYY-MM (a day in the month is accepted)."))
    amount = serializers.DecimalField(**MONEY, help_text=_("Replaces the month's figure for the line; 0 removes it."))
    recorded_at = serializers.DateTimeField(read_only=True)


# ---- orders -------------------------------------------------------------------------------------

class OrderLineSerializer(ModelSerializer):
    product = BriefRelatedField(BriefProductSerializer, queryset=Product.objects.all(), required=False)
    product_code = serializers.CharField(write_only=True, required=False,
                                         help_text=_("The product by its code, instead of `product`."))
    quantity = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"), required=False)
    delivered_quantity = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0, required=False)

    class Meta:
        model = OrderLine
        fields = ["id", "product", "product_code", "quantity", "unit_price", "amount", "delivered_quantity"]
        read_only_fields = ["id", "amount"]

    def validate(self, attrs):
        _resolve_product(attrs)
        if attrs.get("product") is None:
            raise serializers.ValidationError({"product": [str(_("This field is required."))]})
        return attrs


class BriefOrderSerializer(ModelSerializer):
    url = DetailUrlField(view_name="api:order-detail")
    display = DisplayField()

    class Meta:
        model = Order
        fields = ["id", "url", "display", "number", "status"]


class OrderSerializer(ReferenceSerializerMixin, ModelSerializer):
    url = DetailUrlField(view_name="api:order-detail")
    display = DisplayField()
    account = BriefRelatedField(BriefAccountSerializer, queryset=Account.objects.all(), scope=visible,
                                required=False)
    agreement = BriefRelatedField(BriefAgreementSerializer, queryset=Agreement.objects.all(), scope=visible,
                                  required=False, allow_null=True)
    owner = BriefRelatedField(BriefUserSerializer, queryset=User.objects.filter(is_active=True), required=False,
                              help_text=_("Defaults to the user making the request."))
    lines = OrderLineSerializer(many=True)
    account_external_id = serializers.CharField(
        write_only=True, required=False,
        help_text=_("The account by its external id in the same source system, instead of `account`."))
    status = serializers.CharField(read_only=True, help_text=_("open, partly_delivered, delivered or cancelled."))
    required_on_create = {"account": "account_external_id"}

    class Meta:
        model = Order
        fields = ["id", "url", "display", "account", "agreement", "number", "ordered_on", "status", "owner", "total",
                  "lines", "source_system", "external_id", "created_at", "updated_at", "account_external_id"]
        read_only_fields = ["status", "total", "created_at", "updated_at"]
        validators: list = []
        extra_kwargs = {"number": {"validators": []}}

    def validate(self, attrs):
        errors: dict[str, list[str]] = {}
        user = getattr(self.context.get("request"), "user", None)
        source = _source_system(self, attrs)
        resolve_reference(attrs, errors, field="account", alt="account_external_id",
                          lookup=lambda v: visible(Account.objects.filter(source_system=source, external_id=v),
                                                   user).first(),
                          missing=str(_("No account with external id “%(value)s” in this source system.")))
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class DeliverSerializer(serializers.Serializer):
    line = serializers.IntegerField(help_text=_("The order line delivered."))
    quantity = serializers.DecimalField(max_digits=12, decimal_places=2,
                                        help_text=_("How much more was delivered."))

"""Serializers of product lines, products and the product plan. Related records are written by id or,
for records fed from another system, by a natural key (`line_code`, `region_code`). Serializers only
parse; the services validate the rest and write."""
from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from kamcrm.core.api.serializers import (
    BriefRelatedField,
    DetailUrlField,
    DisplayField,
    ModelSerializer,
    ReferenceSerializerMixin,
    resolve_reference,
)
from kamcrm.org.api.serializers import BriefOrgUnitSerializer
from kamcrm.org.models import OrgUnit
from kamcrm.products.models import Product, ProductLine, ProductPlan

__all__ = ["BriefProductLineSerializer", "BriefProductSerializer", "ProductLineSerializer",
           "ProductPlanSerializer", "ProductSerializer"]


class BriefProductLineSerializer(ModelSerializer):
    url = DetailUrlField(view_name="api:productline-detail")
    display = DisplayField()

    class Meta:
        model = ProductLine
        fields = ["id", "url", "display", "code", "name"]


class BriefProductSerializer(ModelSerializer):
    url = DetailUrlField(view_name="api:product-detail")
    display = DisplayField()

    class Meta:
        model = Product
        fields = ["id", "url", "display", "code", "name"]


class ProductLineSerializer(ModelSerializer):
    url = DetailUrlField(view_name="api:productline-detail")
    display = DisplayField()

    class Meta:
        model = ProductLine
        fields = ["id", "url", "display", "code", "name", "description", "is_active", "source_system",
                  "external_id", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]
        # Uniqueness (code; source system + external id) is checked by the service.
        validators: list = []
        extra_kwargs = {"code": {"validators": []}}


def _line_by_code(value: str) -> ProductLine | None:
    return ProductLine.objects.filter(code=value).first()


class ProductSerializer(ReferenceSerializerMixin, ModelSerializer):
    url = DetailUrlField(view_name="api:product-detail")
    display = DisplayField()
    line = BriefRelatedField(BriefProductLineSerializer, queryset=ProductLine.objects.all(), required=False)
    line_code = serializers.CharField(write_only=True, required=False,
                                      help_text=_("The product line by its code, instead of `line`."))
    required_on_create = {"line": "line_code"}

    class Meta:
        model = Product
        fields = ["id", "url", "display", "line", "code", "name", "unit", "list_price", "currency", "status",
                  "launched_on", "end_of_sale_on", "description", "source_system", "external_id", "created_at",
                  "updated_at", "line_code"]
        read_only_fields = ["created_at", "updated_at"]
        validators: list = []
        extra_kwargs = {"code": {"validators": []}}

    def validate(self, attrs):
        errors: dict[str, list[str]] = {}
        resolve_reference(attrs, errors, field="line", alt="line_code", lookup=_line_by_code,
                          missing=str(_("No product line with code “%(value)s”.")))
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class ProductPlanSerializer(ReferenceSerializerMixin, ModelSerializer):
    url = DetailUrlField(view_name="api:productplan-detail")
    display = DisplayField()
    line = BriefRelatedField(BriefProductLineSerializer, queryset=ProductLine.objects.all(), required=False)
    region = BriefRelatedField(BriefOrgUnitSerializer, queryset=OrgUnit.objects.all(), required=False)
    line_code = serializers.CharField(write_only=True, required=False,
                                      help_text=_("The product line by its code, instead of `line`."))
    region_code = serializers.CharField(write_only=True, required=False,
                                        help_text=_("The region by unit code, instead of `region`."))
    required_on_create = {"line": "line_code", "region": "region_code"}

    class Meta:
        model = ProductPlan
        fields = ["id", "url", "display", "year", "line", "region", "priority", "target_amount", "notes",
                  "created_at", "updated_at", "line_code", "region_code"]
        read_only_fields = ["created_at", "updated_at"]
        # (year, line, region) is the natural key: a POST of an existing one updates it.
        validators: list = []
        extra_kwargs = {"year": {"min_value": 2000, "max_value": 2100}}

    def validate(self, attrs):
        errors: dict[str, list[str]] = {}
        resolve_reference(attrs, errors, field="line", alt="line_code", lookup=_line_by_code,
                          missing=str(_("No product line with code “%(value)s”.")))
        resolve_reference(attrs, errors, field="region", alt="region_code",
                          lookup=lambda v: OrgUnit.objects.filter(code=v).first(),
                          missing=str(_("No unit with code “%(value)s”.")))
        if self.instance is not None:
            for name in ("year", "line", "region"):
                if name in attrs and getattr(attrs[name], "pk", attrs[name]) != getattr(
                        self.instance, f"{name}_id" if name != "year" else name):
                    errors[name] = [str(_("A plan entry cannot move; create the other one instead."))]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs

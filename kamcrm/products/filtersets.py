"""The product catalogue's list filters, shared by the UI lists, the API and exports."""
from __future__ import annotations

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kamcrm.org.models import OrgUnit
from kamcrm.products.choices import PlanPriority, ProductStatus
from kamcrm.products.models import Product, ProductLine, ProductPlan

__all__ = ["ProductFilterSet", "ProductLineFilterSet", "ProductPlanFilterSet"]


class ProductLineFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("search"))
    is_active = django_filters.BooleanFilter(label=_("active"))
    source_system = django_filters.CharFilter()
    external_id = django_filters.CharFilter()

    class Meta:
        model = ProductLine
        fields = ["q", "is_active"]

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(name__icontains=value) | Q(code__istartswith=value)) if value else queryset


class ProductFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("search"))
    line = django_filters.ModelChoiceFilter(queryset=ProductLine.objects.all(), label=_("product line"))
    status = django_filters.MultipleChoiceFilter(choices=ProductStatus.choices, label=_("status"))
    source_system = django_filters.CharFilter()
    external_id = django_filters.CharFilter()
    updated_since = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Product
        fields = ["q", "line", "status"]

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(name__icontains=value) | Q(code__istartswith=value)) if value else queryset


class ProductPlanFilterSet(django_filters.FilterSet):
    year = django_filters.NumberFilter(label=_("year"))
    line = django_filters.ModelChoiceFilter(queryset=ProductLine.objects.all(), label=_("product line"))
    region = django_filters.ModelChoiceFilter(queryset=OrgUnit.objects.all(), label=_("region"))
    priority = django_filters.MultipleChoiceFilter(choices=PlanPriority.choices, label=_("priority"))

    class Meta:
        model = ProductPlan
        fields = ["year", "line", "region", "priority"]

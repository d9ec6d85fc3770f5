"""The opportunity list's filters, shared by the UI list, the board, the API and the funnel's drill-down."""
from __future__ import annotations

import django_filters
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from kamcrm.customers.filtersets import _subtree
from kamcrm.customers.models import Account
from kamcrm.org.models import OrgUnit, User
from kamcrm.products.models import ProductLine
from kamcrm.sales.choices import OpportunitySource, StageKind
from kamcrm.sales.models import Opportunity, OpportunityLine, Stage


class NumberInFilter(django_filters.BaseInFilter, django_filters.NumberFilter):
    """`?ids=1,2,3`: whole numbers only (a bad one is a 400 naming the filter)."""


class OpportunityFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("search"))
    stage = django_filters.ModelMultipleChoiceFilter(queryset=Stage.objects.all(), label=_("stage"))
    kind = django_filters.ChoiceFilter(choices=StageKind.choices, field_name="stage__kind", label=_("open, won or lost"))
    owner = django_filters.ModelChoiceFilter(queryset=User.objects.all(), label=_("owner"))
    owner_unit = django_filters.ModelChoiceFilter(queryset=OrgUnit.objects.all(), method=_subtree,
                                                  label=_("owning unit"))
    account = django_filters.ModelChoiceFilter(queryset=Account.objects.all(), label=_("account"))
    product_line = django_filters.ModelChoiceFilter(queryset=ProductLine.objects.all(), method="filter_line",
                                                    label=_("product line"))
    source = django_filters.MultipleChoiceFilter(choices=OpportunitySource.choices, label=_("source"))
    close_from = django_filters.DateFilter(field_name="expected_close_date", lookup_expr="gte",
                                           label=_("expected close from"))
    close_to = django_filters.DateFilter(field_name="expected_close_date", lookup_expr="lte",
                                         label=_("expected close to"))
    source_system = django_filters.CharFilter()
    external_id = django_filters.CharFilter()
    updated_since = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")
    ids = NumberInFilter(field_name="id", lookup_expr="in", label=_("these opportunities"),
                         help_text=_("Comma-separated ids, e.g. from a funnel's drill-down."))

    class Meta:
        model = Opportunity
        fields = ["q", "stage", "kind", "owner", "owner_unit", "account", "product_line", "source", "close_from",
                  "close_to"]

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(name__icontains=value) if value else queryset

    @extend_schema_field(OpenApiTypes.INT)
    def filter_line(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(Exists(OpportunityLine.objects.filter(opportunity_id=OuterRef("pk"),
                                                                      product__line_id=value.pk)))

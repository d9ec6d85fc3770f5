"""The agreement list's filters, shared by the UI list, the API and exports."""
from __future__ import annotations

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from kamcrm.agreements.choices import AgreementStatus, AgreementType
from kamcrm.agreements.models import Agreement
from kamcrm.customers.models import Account
from kamcrm.org.models import OrgUnit, User


class AgreementFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("search"))
    status = django_filters.MultipleChoiceFilter(choices=AgreementStatus.choices, label=_("status"))
    type = django_filters.ChoiceFilter(choices=AgreementType.choices, label=_("type"))
    owner = django_filters.ModelChoiceFilter(queryset=User.objects.all(), label=_("owner"))
    owner_unit = django_filters.ModelChoiceFilter(queryset=OrgUnit.objects.all(), method="in_unit",
                                                  label=_("owning unit"))
    account = django_filters.ModelChoiceFilter(queryset=Account.objects.all(), label=_("account"))
    ends_from = django_filters.DateFilter(field_name="end_date", lookup_expr="gte", label=_("ends from"))
    ends_to = django_filters.DateFilter(field_name="end_date", lookup_expr="lte", label=_("ends by"))
    source_system = django_filters.CharFilter()
    external_id = django_filters.CharFilter()

    class Meta:
        model = Agreement
        fields = ["q", "status", "type", "owner", "owner_unit", "account", "ends_from", "ends_to"]

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(number__icontains=value) | Q(title__icontains=value)) if value else queryset

    @extend_schema_field(OpenApiTypes.INT)  # an org unit's id (the schema cannot tell from the method)
    def in_unit(self, queryset, name, value: OrgUnit):
        """Agreements of the accounts owned within the unit's subtree."""
        return queryset.filter(account__owner_unit__path__startswith=value.path) if value else queryset

"""Filters of the organisation lists (units and people) for the API.

The organisation UI filters people with a form and `org.selectors.user_queryset` (no FilterSet);
`UserFilterSet` matches it filter for filter (q over login, display name and email; unit with its
sub-units; role; active). If the UI moves to FilterSets, these belong in `kamcrm/org/filtersets.py`.
"""
from __future__ import annotations

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from kamcrm.org.choices import Role, UnitKind
from kamcrm.org.models import OrgUnit, User

__all__ = ["OrgUnitFilterSet", "UserFilterSet"]


class OrgUnitFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("search"))
    kind = django_filters.MultipleChoiceFilter(choices=UnitKind.choices, label=_("kind"))
    parent = django_filters.ModelChoiceFilter(queryset=OrgUnit.objects.all(), label=_("parent unit"))
    within = extend_schema_field(OpenApiTypes.INT)(
        django_filters.ModelChoiceFilter(queryset=OrgUnit.objects.all(), method="filter_within",
                                         label=_("within unit (its whole subtree)")))
    code = django_filters.CharFilter()
    is_active = django_filters.BooleanFilter(label=_("active"))
    source_system = django_filters.CharFilter()
    external_id = django_filters.CharFilter()

    class Meta:
        model = OrgUnit
        fields = ["q", "kind", "parent", "code", "is_active"]

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(name__icontains=value) | Q(code__istartswith=value)) if value else queryset

    def filter_within(self, queryset, name, value):
        return queryset.filter(path__startswith=value.path) if value else queryset


class UserFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("search"))
    unit = django_filters.ModelChoiceFilter(queryset=OrgUnit.objects.all(), method="filter_unit",
                                            label=_("unit (and its sub-units)"))
    role = django_filters.MultipleChoiceFilter(choices=Role.choices, label=_("role"))
    manager = django_filters.ModelChoiceFilter(queryset=User.objects.all(), label=_("manager"))
    is_active = django_filters.BooleanFilter(label=_("active"))
    source_system = django_filters.CharFilter()
    external_id = django_filters.CharFilter()

    class Meta:
        model = User
        fields = ["q", "unit", "role", "manager", "is_active"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(username__icontains=value) | Q(display_name__icontains=value)
                               | Q(email__icontains=value))

    def filter_unit(self, queryset, name, value):
        return queryset.filter(unit__path__startswith=value.path) if value else queryset

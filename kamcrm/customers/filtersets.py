"""One FilterSet per list, shared by the UI list, the API and (later) exports."""
from __future__ import annotations

import operator
from functools import reduce

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _

from kamcrm.core.attributes import attribute_filter, json_array_has
from kamcrm.core.models import AttributeDefinition
from kamcrm.customers import search
from kamcrm.customers.choices import AccountStatus, DecisionRole, Industry, Tier
from kamcrm.customers.models import Account, Contact
from kamcrm.org.models import OrgUnit, User

ATTR_PREFIX = "attr_"


class AttributeFilterMixin:
    """Adds `attr_<key>=value` filters for every filterable custom attribute of the entity."""

    attribute_entity = ""

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        wanted = {k[len(ATTR_PREFIX):]: v for k, v in self.data.items() if k.startswith(ATTR_PREFIX) and v not in ("", None)}
        if not wanted:
            return queryset
        defs = {d.key: d for d in AttributeDefinition.objects.filter(entity=self.attribute_entity, filterable=True,
                                                                     key__in=list(wanted))}
        errors = {}
        for key, raw in wanted.items():
            defn = defs.get(key)
            if defn is None:
                errors[f"{ATTR_PREFIX}{key}"] = [_("No filterable custom attribute “%(k)s”.") % {"k": key}]
                continue
            try:
                queryset = queryset.filter(attribute_filter(defn, raw))
            except ValueError as exc:
                errors[f"{ATTR_PREFIX}{key}"] = [str(exc)]
        if errors:
            raise ValidationError(errors)
        return queryset


def _subtree(queryset, name, value: OrgUnit):
    # The subtree's unit ids as a list (one small query), not a join on the path: the database then
    # reads the (region, tier, name, id) index in order instead of scanning and sorting.
    if not value:
        return queryset
    ids = list(OrgUnit.objects.filter(path__startswith=value.path).values_list("pk", flat=True))
    return queryset.filter(**{f"{name}_id__in": ids})


class AccountFilterSet(AttributeFilterMixin, django_filters.FilterSet):
    attribute_entity = "account"

    q = django_filters.CharFilter(method="search", label=_("search"))
    # Column filters need no DISTINCT (django-filter's default for multiple choices): with it, every
    # bounded count became a scan of the whole table.
    tier = django_filters.MultipleChoiceFilter(distinct=False, choices=Tier.choices, label=_("tier"))
    industry = django_filters.MultipleChoiceFilter(distinct=False, choices=Industry.choices, label=_("industry"))
    status = django_filters.MultipleChoiceFilter(distinct=False, choices=AccountStatus.choices, label=_("status"))
    region = django_filters.ModelChoiceFilter(queryset=OrgUnit.objects.all(), method=_subtree, label=_("region"))
    owner_unit = django_filters.ModelChoiceFilter(queryset=OrgUnit.objects.all(), method=_subtree,
                                                  label=_("owning unit"))
    owner = django_filters.ModelChoiceFilter(queryset=User.objects.all(), label=_("account manager"))
    parent = django_filters.ModelChoiceFilter(queryset=Account.objects.all(), label=_("group customer"))
    is_group = django_filters.BooleanFilter(method="filter_group", label=_("group customers only"))
    tag = django_filters.CharFilter(method="filter_tag", label=_("tag"))
    source_system = django_filters.CharFilter()
    external_id = django_filters.CharFilter()
    updated_since = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Account
        fields = ["q", "tier", "industry", "status", "region", "owner_unit", "owner", "parent"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(reduce(operator.or_, search.account_parts(value)))

    def filter_group(self, queryset, name, value):
        if value is None:
            return queryset
        has_children = Exists(Account.objects.filter(parent_id=OuterRef("pk")))
        return queryset.filter(has_children) if value else queryset.exclude(has_children)

    def filter_tag(self, queryset, name, value):
        # Tags are a JSON list; match the whole element (portable to SQLite, see json_array_has).
        return queryset.filter(json_array_has("tags", value.strip())) if value.strip() else queryset


class ContactFilterSet(AttributeFilterMixin, django_filters.FilterSet):
    attribute_entity = "contact"

    q = django_filters.CharFilter(method="search", label=_("search"))
    account = django_filters.ModelChoiceFilter(queryset=Account.objects.all(), label=_("account"))
    decision_role = django_filters.MultipleChoiceFilter(distinct=False, choices=DecisionRole.choices,
                                                        label=_("decision role"))
    source_system = django_filters.CharFilter()
    external_id = django_filters.CharFilter()

    class Meta:
        model = Contact
        fields = ["q", "account", "decision_role"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(reduce(operator.or_, search.contact_parts(value)))

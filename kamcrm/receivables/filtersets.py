"""The invoice list's filters, shared by the UI list, the aging drill-down, the API and the export.

`as_of` + `bucket` is the aging page's drill-down: the invoices open at the end of that day (the
balance on a date counts only payments received up to it) whose days past due then fall in the
bucket. `as_of` alone lists what was open on that day.
"""
from __future__ import annotations

import django_filters
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from kamcrm.customers.models import Account
from kamcrm.org.models import OrgUnit, User
from kamcrm.receivables.choices import AGING_BUCKETS, InvoiceStatus
from kamcrm.receivables.models import Invoice, Payment
from kamcrm.receivables.queries import bucket_q, open_on

OPEN = (InvoiceStatus.OPEN, InvoiceStatus.PARTLY_PAID)
BUCKET_CHOICES = [(code, label) for code, label, _lo, _hi in AGING_BUCKETS]
GROUP_DEPTH = 6


def group_member_ids(account_id: int, max_depth: int = GROUP_DEPTH) -> list[int]:
    """The account and its subsidiaries at every level (one small indexed query per level)."""
    ids, frontier = [account_id], [account_id]
    for _level in range(max_depth):
        frontier = list(Account.objects.filter(parent_id__in=frontier).values_list("pk", flat=True))
        frontier = [pk for pk in frontier if pk not in ids]
        if not frontier:
            break
        ids.extend(frontier)
    return ids


def unit_subtree(unit: OrgUnit):  # noqa: ANN201
    """The ids of a unit's subtree (a few rows), so the account's owning-unit index serves the filter."""
    return OrgUnit.objects.filter(path__startswith=unit.path).values("pk")


class InvoiceFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("search"))
    status = django_filters.MultipleChoiceFilter(choices=InvoiceStatus.choices, label=_("status"))
    overdue = django_filters.BooleanFilter(method="filter_overdue", label=_("overdue"),
                                           help_text=_("Unpaid after the due date (today)."))
    disputed = django_filters.BooleanFilter(label=_("disputed"))
    account = django_filters.ModelChoiceFilter(queryset=Account.objects.all(), label=_("account"))
    group = django_filters.ModelChoiceFilter(queryset=Account.objects.all(), method="filter_group",
                                             label=_("group customer"),
                                             help_text=_("The account and its subsidiaries at every level."))
    owner = django_filters.ModelChoiceFilter(queryset=User.objects.all(), field_name="account__owner",
                                             label=_("account manager"))
    owner_unit = django_filters.ModelChoiceFilter(queryset=OrgUnit.objects.all(), method="filter_unit",
                                                  label=_("owning unit"))
    invoice_from = django_filters.DateFilter(field_name="invoice_date", lookup_expr="gte", label=_("invoice date from"))
    invoice_to = django_filters.DateFilter(field_name="invoice_date", lookup_expr="lte", label=_("invoice date to"))
    due_from = django_filters.DateFilter(field_name="due_date", lookup_expr="gte", label=_("due from"))
    due_to = django_filters.DateFilter(field_name="due_date", lookup_expr="lte", label=_("due by"))
    as_of = django_filters.DateFilter(method="filter_as_of", label=_("open on"),
                                      help_text=_("Only invoices open at the end of this day."))
    bucket = django_filters.ChoiceFilter(choices=BUCKET_CHOICES, method="filter_as_of", label=_("aging bucket"),
                                         help_text=_("Days past due on the “open on” date (today when empty)."))
    source_system = django_filters.CharFilter()
    external_id = django_filters.CharFilter()
    updated_since = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Invoice
        fields = ["q", "status", "overdue", "disputed", "account", "group", "owner", "owner_unit", "invoice_from",
                  "invoice_to", "due_from", "due_to", "as_of", "bucket"]

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(number__startswith=value) | Q(external_id=value)) if value else queryset

    def filter_overdue(self, queryset, name, value):
        if value is None:
            return queryset
        late = Q(status__in=OPEN, due_date__lt=timezone.localdate())
        return queryset.filter(late) if value else queryset.exclude(late)

    @extend_schema_field(OpenApiTypes.INT)
    def filter_group(self, queryset, name, value):
        return queryset.filter(account_id__in=group_member_ids(value.pk)) if value else queryset

    @extend_schema_field(OpenApiTypes.INT)
    def filter_unit(self, queryset, name, value):
        return queryset.filter(account__owner_unit_id__in=unit_subtree(value)) if value else queryset

    def filter_as_of(self, queryset, name, value):
        return queryset  # both are applied together in filter_queryset

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        data = getattr(self, "form", None) and self.form.cleaned_data
        as_of, bucket = (data or {}).get("as_of"), (data or {}).get("bucket")
        if as_of or bucket:
            as_of = as_of or timezone.localdate()
            queryset = open_on(queryset, as_of)
            if bucket:
                queryset = queryset.filter(bucket_q(bucket, as_of))
        return queryset


class PaymentFilterSet(django_filters.FilterSet):
    account = django_filters.ModelChoiceFilter(queryset=Account.objects.all(), label=_("account"))
    owner_unit = django_filters.ModelChoiceFilter(queryset=OrgUnit.objects.all(), method="filter_unit",
                                                  label=_("owning unit"))
    received_from = django_filters.DateFilter(field_name="received_on", lookup_expr="gte", label=_("received from"))
    received_to = django_filters.DateFilter(field_name="received_on", lookup_expr="lte", label=_("received to"))
    unallocated = django_filters.BooleanFilter(method="filter_unallocated", label=_("with an unallocated part"))
    source_system = django_filters.CharFilter()
    external_id = django_filters.CharFilter()

    class Meta:
        model = Payment
        fields = ["account", "owner_unit", "received_from", "received_to", "unallocated"]

    @extend_schema_field(OpenApiTypes.INT)
    def filter_unit(self, queryset, name, value):
        return queryset.filter(account__owner_unit_id__in=unit_subtree(value)) if value else queryset

    def filter_unallocated(self, queryset, name, value):
        if value is None:
            return queryset
        from django.db.models import F

        return queryset.filter(allocated__lt=F("amount")) if value else queryset.filter(allocated__gte=F("amount"))

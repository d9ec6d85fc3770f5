"""Reads of the export side: the export log list (administrators only; the view checks)."""
from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kamcrm.core.forms import TablerFormMixin
from kamcrm.core.pagination import Page, keyset_page
from kamcrm.exchange.models import ExportChannel, ExportFormat, ExportLog

__all__ = ["EXPORT_LOG_SORTS", "ExportLogFilterSet", "export_log_list", "export_log_queryset"]

EXPORT_LOG_SORTS: dict[str, list[str]] = {"-id": ["-id"], "id": ["id"]}


class ExportLogFilterForm(TablerFormMixin, forms.Form):
    autofocus = False


class ExportLogFilterSet(django_filters.FilterSet):
    username = django_filters.CharFilter(label=_("username"))
    entity = django_filters.CharFilter(label=_("entity"))
    format = django_filters.ChoiceFilter(choices=ExportFormat.choices, label=_("format"))
    channel = django_filters.ChoiceFilter(choices=ExportChannel.choices, label=_("channel"))

    class Meta:
        model = ExportLog
        fields = ["username", "entity", "format", "channel"]
        form = ExportLogFilterForm


def export_log_queryset(*, filters: dict[str, Any] | None = None) -> QuerySet[ExportLog]:
    fs = ExportLogFilterSet(data=filters or {}, queryset=ExportLog.objects.select_related("user"))
    if not fs.is_valid():
        raise ValidationError({k: [str(m) for m in v] for k, v in fs.errors.items()})
    return fs.qs


def export_log_list(*, filters: dict[str, Any] | None = None, sort: str = "-id", cursor: str | None = None,
                    page_size: int = 50) -> Page:
    order = EXPORT_LOG_SORTS.get(sort)
    if order is None:
        raise ValidationError({"sort": [gettext("Unknown sort “%(sort)s”; use one of: %(choices)s.")
                                        % {"sort": sort, "choices": ", ".join(EXPORT_LOG_SORTS)}]})
    return keyset_page(export_log_queryset(filters=filters), order=order, cursor=cursor, page_size=page_size)

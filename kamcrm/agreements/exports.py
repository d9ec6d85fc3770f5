"""Export of the agreement list (autodiscovered by the exchange app): the rows the user may see,
narrowed by the list's filters (AgreementFilterSet) and sorted by the list's sorts."""
from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from kamcrm.agreements.choices import AgreementStatus, AgreementType
from kamcrm.agreements.filtersets import AgreementFilterSet
from kamcrm.agreements.models import Agreement
from kamcrm.agreements.selectors import AGREEMENT_SORTS, agreement_queryset
from kamcrm.exchange.export import Column, ExportEntity, choice_column, register
from kamcrm.exchange.export_customers import PERSON_FIELDS, _person
from kamcrm.org.models import User

__all__ = ["AGREEMENTS", "agreement_filtered"]


def _label(name: str):  # noqa: ANN202
    return Agreement._meta.get_field(name).verbose_name


def agreement_filtered(*, user: User, filters: dict[str, Any] | None = None) -> QuerySet[Agreement]:
    fs = AgreementFilterSet(data=filters or {}, queryset=agreement_queryset(user))
    if not fs.is_valid():
        raise ValidationError({k: [str(m) for m in v] for k, v in fs.errors.items()})
    return fs.qs


def _columns() -> list[Column]:
    return [
        Column("id", _("ID"), ("id",), None, 8),
        Column("number", _label("number"), ("number",), None, 18),
        Column("title", _label("title"), ("title",), None, 32),
        Column("account", _label("account"), ("account__name",), None, 32),
        choice_column("type", _label("type"), AgreementType.choices),
        choice_column("status", _label("status"), AgreementStatus.choices),
        Column("start_date", _label("start_date"), ("start_date",), None, 12),
        Column("end_date", _label("end_date"), ("end_date",), None, 12),
        Column("signed_on", _label("signed_on"), ("signed_on",), None, 12),
        Column("total_value", _label("total_value"), ("total_value",), None, 14),
        Column("currency", _label("currency"), ("currency",), None, 8),
        Column("owner", _label("owner"), tuple(f"owner__{f}" for f in PERSON_FIELDS), _person("owner")),
        Column("owner_username", _("owner (username)"), ("owner__username",), None, 14),
        Column("partner", _label("partner"), ("partner",), None, 20),
        Column("source_system", _label("source_system"), ("source_system",), None, 14),
        Column("external_id", _label("external_id"), ("external_id",), None, 14),
    ]


AGREEMENTS = register(ExportEntity(
    name="agreements", label=_("agreements"), queryset=agreement_filtered, sorts=AGREEMENT_SORTS,
    columns=_columns, default_sort="-start", list_url="agreements:agreement_list",
))

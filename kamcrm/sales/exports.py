"""Export of the opportunity list (autodiscovered by the exchange app): the rows the user may see,
narrowed by the list's filters (OpportunityFilterSet) and sorted by the list's sorts."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from kamcrm.exchange.export import Column, ExportEntity, choice_column, register
from kamcrm.exchange.export_customers import PERSON_FIELDS, _person
from kamcrm.org.models import User
from kamcrm.sales.choices import OpportunitySource
from kamcrm.sales.models import Opportunity
from kamcrm.sales.selectors import OPPORTUNITY_SORTS, opportunity_filtered

__all__ = ["OPPORTUNITIES"]


def _label(name: str):  # noqa: ANN202
    return Opportunity._meta.get_field(name).verbose_name


def opportunity_export_queryset(*, user: User, filters: dict[str, Any] | None = None) -> QuerySet[Opportunity]:
    return opportunity_filtered(user=user, filters=filters)


def _stage(row: dict[str, Any]) -> str:
    return row["stage__name_zh"] if (get_language() or "").startswith("zh") else row["stage__name_en"]


def _weighted(row: dict[str, Any]) -> Decimal | None:
    if row["amount"] is None or row["probability"] is None:
        return None
    return (row["amount"] * row["probability"] / Decimal(100)).quantize(Decimal("0.01"))


def _columns() -> list[Column]:
    return [
        Column("id", _("ID"), ("id",), None, 8),
        Column("name", _label("name"), ("name",), None, 32),
        Column("account", _label("account"), ("account__name",), None, 32),
        Column("stage", _label("stage"), ("stage__name_zh", "stage__name_en"), _stage, 18),
        Column("amount", _label("amount"), ("amount",), None, 14),
        Column("currency", _label("currency"), ("currency",), None, 8),
        Column("probability", _label("probability"), ("probability",), None, 10),
        Column("weighted_amount", _("weighted amount"), ("amount", "probability"), _weighted, 14),
        Column("expected_close_date", _label("expected_close_date"), ("expected_close_date",), None, 12),
        Column("owner", _label("owner"), tuple(f"owner__{f}" for f in PERSON_FIELDS), _person("owner")),
        Column("owner_username", _("owner (username)"), ("owner__username",), None, 14),
        choice_column("source", _label("source"), OpportunitySource.choices),
        Column("source_system", _label("source_system"), ("source_system",), None, 14),
        Column("external_id", _label("external_id"), ("external_id",), None, 14),
    ]


OPPORTUNITIES = register(ExportEntity(
    name="opportunities", label=_("opportunities"), queryset=opportunity_export_queryset, sorts=OPPORTUNITY_SORTS,
    columns=_columns, default_sort="-updated", attribute_entity="opportunity", list_url="sales:opportunity_list",
))

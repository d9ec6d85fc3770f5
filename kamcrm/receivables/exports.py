"""Export of the invoice list (autodiscovered by the exchange app): the rows the user may see, narrowed
by the list's filters (InvoiceFilterSet, the aging drill-down included) and sorted by the list's sorts."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _

from kamcrm.exchange.export import Column, ExportEntity, choice_column, register
from kamcrm.exchange.export_customers import PERSON_FIELDS, _person
from kamcrm.receivables.choices import InvoiceStatus
from kamcrm.receivables.models import Invoice
from kamcrm.receivables.selectors import INVOICE_SORTS, invoice_filtered

__all__ = ["INVOICES"]


def _label(name: str):  # noqa: ANN202
    return Invoice._meta.get_field(name).verbose_name


def _balance(row: dict[str, Any]) -> Decimal:
    return row["total"] - row["paid_amount"]


def _columns() -> list[Column]:
    return [
        Column("id", _("ID"), ("id",), None, 8),
        Column("number", _label("number"), ("number",), None, 16),
        Column("account", _label("account"), ("account__name",), None, 32),
        Column("invoice_date", _label("invoice_date"), ("invoice_date",), None, 12),
        Column("due_date", _label("due_date"), ("due_date",), None, 12),
        Column("amount", _label("amount"), ("amount",), None, 14),
        Column("tax", _label("tax"), ("tax",), None, 12),
        Column("total", _label("total"), ("total",), None, 14),
        Column("paid_amount", _label("paid_amount"), ("paid_amount",), None, 14),
        Column("balance", _("balance"), ("total", "paid_amount"), _balance, 14),
        Column("currency", _label("currency"), ("currency",), None, 8),
        choice_column("status", _label("status"), InvoiceStatus.choices),
        Column("settled_on", _label("settled_on"), ("settled_on",), None, 12),
        Column("disputed", _label("disputed"), ("disputed",), None, 8),
        Column("owner", _("account manager"), tuple(f"account__owner__{f}" for f in PERSON_FIELDS),
               _person("account__owner")),
        Column("source_system", _label("source_system"), ("source_system",), None, 14),
        Column("external_id", _label("external_id"), ("external_id",), None, 14),
    ]


INVOICES = register(ExportEntity(
    name="invoices", label=_("invoices"), queryset=invoice_filtered, sorts=INVOICE_SORTS, columns=_columns,
    default_sort="-date", list_url="receivables:invoice_list",
))

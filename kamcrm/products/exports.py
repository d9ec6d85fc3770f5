"""Export of the product list (autodiscovered by the exchange app), with the list's filters and sorts.
The catalogue is readable by everyone signed in, so every matching product is exported."""
from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from kamcrm.exchange.export import Column, ExportEntity, choice_column, register
from kamcrm.products.choices import ProductStatus
from kamcrm.products.models import Product
from kamcrm.products.selectors import PRODUCT_SORTS, product_queryset

__all__ = ["PRODUCTS"]


def _label(name: str):  # noqa: ANN202
    return Product._meta.get_field(name).verbose_name


def _field(name: str, width: int = 16) -> Column:
    return Column(name, _label(name), (name,), None, width)


def _columns() -> list[Column]:
    return [
        Column("id", _("ID"), ("id",), None, 8),
        _field("code", 14),
        _field("name", 28),
        Column("line", _label("line"), ("line__name",), None, 20),
        Column("line_code", _("product line code"), ("line__code",), None, 12),
        _field("unit", 10),
        _field("list_price", 14),
        _field("currency", 8),
        choice_column("status", _label("status"), ProductStatus.choices),
        _field("launched_on", 12),
        _field("end_of_sale_on", 12),
        _field("description", 40),
        _field("source_system", 14),
        _field("external_id", 14),
        _field("updated_at", 18),
    ]


PRODUCTS = register(ExportEntity(
    name="products", label=_("products"), queryset=product_queryset, sorts=PRODUCT_SORTS, columns=_columns,
    default_sort="code", list_url="products:product_list",
))

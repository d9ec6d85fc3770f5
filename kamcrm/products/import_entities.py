"""Product lines and products through the import framework (kamcrm/exchange/importing.py).

Administrators and business management only (they maintain the catalogue). Both match by code (a
source's external id works too); writes go through products.services one row at a time (a catalogue
has tens or hundreds of rows).
"""
from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kamcrm.core.services import validation_error_dict
from kamcrm.exchange.import_specs import (
    CHOICE,
    DECIMAL,
    REF,
    FieldSpec,
    ImportContext,
    ImportEntity,
    ImportRow,
    Ref,
    RowProblem,
    register,
)
from kamcrm.exchange.models import ImportErrorKind
from kamcrm.products import services
from kamcrm.products.choices import ProductStatus
from kamcrm.products.models import Product, ProductLine

LINE_REF = Ref(ProductLine, ("code", "name", "external_id"))
# Other apps' imports refer to products by these keys too (opportunity, agreement and order lines).
PRODUCT_REF = Ref(Product, ("code", "name", "external_id"))
STATUS_WORDS = {"在售": ProductStatus.ACTIVE, "销售中": ProductStatus.ACTIVE, "规划中": ProductStatus.PLANNED,
                "退市中": ProductStatus.RETIRING, "已退市": ProductStatus.RETIRED, "停售": ProductStatus.RETIRED}


def _raise(row: ImportRow, exc: ValidationError) -> None:
    name, messages = next(iter(validation_error_dict(exc).items()))
    raise RowProblem(row, name if name != "__all__" else "code", "; ".join(messages)) from None


def _changes(instance, data: dict[str, Any]) -> dict[str, Any]:  # noqa: ANN001
    out = {}
    for key, value in data.items():
        current = getattr(instance, f"{key}_id" if key == "line" else key)
        target = value.pk if hasattr(value, "pk") else value
        if current != target:
            out[key] = value
    return out


class CatalogueImport(ImportEntity):
    """What both catalogue entities share: who may import, matching by code or external id."""

    def permitted(self, user) -> bool:  # noqa: ANN001
        from kamcrm.products.selectors import can_maintain_catalogue

        return user is None or can_maintain_catalogue(user)

    def duplicate_keys(self, row: ImportRow) -> list[tuple[str, Any]]:
        keys: list[tuple[str, Any]] = []
        if row.values.get("code"):
            keys.append(("code", row.values["code"]))
        if row.values.get("external_id"):
            keys.append(("external_id", row.values["external_id"]))
        return keys

    def match(self, rows: list[ImportRow], ctx: ImportContext) -> None:
        codes = {r.values["code"] for r in rows if r.values.get("code")}
        exts = {r.values["external_id"] for r in rows if r.values.get("external_id")}
        by_code, by_ext = {}, {}
        for rec in self.model.objects.filter(Q(code__in=codes) | Q(source_system=ctx.source_system,
                                                                      external_id__in=exts)):
            by_code[rec.code] = rec
            if rec.source_system == ctx.source_system and rec.external_id:
                by_ext[rec.external_id] = rec
        for row in rows:
            v = row.values
            found = by_code.get(v.get("code")) if v.get("code") else None
            if found is None and v.get("external_id"):
                found = by_ext.get(v["external_id"])
            row.existing = found
            if found is None:
                for name in self.needed_on_create:
                    if name not in v and name not in [f for f, _k, _m in row.errors]:
                        row.error(name, ImportErrorKind.MISSING, _("A new record needs a value here."))

    needed_on_create: tuple[str, ...] = ("code", "name")

    def data(self, row: ImportRow, ctx: ImportContext) -> dict[str, Any]:
        data = dict(row.values)
        if "external_id" in data:
            data["source_system"] = ctx.source_system
        return data

    def create(self, data: dict[str, Any]):  # noqa: ANN201
        raise NotImplementedError

    def update(self, record, data: dict[str, Any]):  # noqa: ANN001, ANN201
        raise NotImplementedError

    def write(self, rows: list[ImportRow], ctx: ImportContext) -> None:
        for row in rows:
            data = self.data(row, ctx)
            try:
                if row.existing is None:
                    row.existing = self.create(data)
                    row.status = "created"
                    continue
                record = self.model.objects.get(pk=row.existing.pk)
                changes = _changes(record, data)
                if changes:
                    row.existing = self.update(record, changes)
                row.status = "updated" if changes else "unchanged"
            except ValidationError as exc:
                _raise(row, exc)


class ProductLineImport(CatalogueImport):
    name = "product_line"
    label = gettext_lazy("product lines")
    model = ProductLine
    file_keys = ("code", "name", "external_id")
    fields = (
        FieldSpec("code", gettext_lazy("code"), max_length=40,
                  help=gettext_lazy("Needed for a new product line; importing again by code updates it.")),
        FieldSpec("name", gettext_lazy("name"), max_length=100, help=gettext_lazy("Needed for a new product line.")),
        FieldSpec("description", gettext_lazy("description")),
        FieldSpec("external_id", gettext_lazy("external id"), max_length=100),
    )

    def create(self, data: dict[str, Any]) -> ProductLine:
        return services.product_line_create(**data)

    def update(self, record: ProductLine, data: dict[str, Any]) -> ProductLine:
        return services.product_line_update(line=record, data=data)


class ProductImport(CatalogueImport):
    name = "product"
    label = gettext_lazy("products")
    model = Product
    file_keys = ("code", "name", "external_id")
    needed_on_create = ("line", "code", "name")
    fields = (
        FieldSpec("line", gettext_lazy("product line"), REF, ref=LINE_REF,
                  help=gettext_lazy("Needed for a new product: the line's code, name or external id.")),
        FieldSpec("code", gettext_lazy("code"), max_length=40,
                  help=gettext_lazy("Needed for a new product; importing again by code updates it.")),
        FieldSpec("name", gettext_lazy("name"), max_length=120, help=gettext_lazy("Needed for a new product.")),
        FieldSpec("unit", gettext_lazy("unit"), max_length=20),
        FieldSpec("list_price", gettext_lazy("list price"), DECIMAL),
        FieldSpec("status", gettext_lazy("status"), CHOICE, choices=ProductStatus, words=STATUS_WORDS),
        FieldSpec("external_id", gettext_lazy("external id"), max_length=100),
    )

    def match(self, rows: list[ImportRow], ctx: ImportContext) -> None:
        for row in rows:
            price = row.values.get("list_price")
            if price is not None and price < 0:
                row.error("list_price", ImportErrorKind.INVALID, _("The list price cannot be negative."))
        super().match([r for r in rows if r.ok], ctx)

    def data(self, row: ImportRow, ctx: ImportContext) -> dict[str, Any]:
        data = super().data(row, ctx)
        if "line" in data:
            lines = ctx.memo.setdefault("product_lines", {})
            if data["line"] not in lines:
                lines[data["line"]] = ProductLine.objects.get(pk=data["line"])
            data["line"] = lines[data["line"]]
        return data

    def create(self, data: dict[str, Any]) -> Product:
        return services.product_create(**data)

    def update(self, record: Product, data: dict[str, Any]) -> Product:
        return services.product_update(product=record, data=data)


register(ProductLineImport())
register(ProductImport())

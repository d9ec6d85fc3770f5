"""Every write to product lines, products and the product plan (administrators and business management)."""
from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from kamcrm.core.services import model_update
from kamcrm.products.models import Product, ProductLine, ProductPlan

LINE_FIELDS = ["code", "name", "description", "is_active", "source_system", "external_id"]
PRODUCT_FIELDS = ["line", "code", "name", "unit", "list_price", "currency", "status", "launched_on", "end_of_sale_on",
                  "description", "source_system", "external_id"]
PLAN_FIELDS = ["priority", "target_amount", "notes"]


def _unique(model, instance, data: dict[str, Any], field: str, message: str) -> None:
    value = data.get(field, getattr(instance, field))
    others = model.objects.exclude(pk=instance.pk) if instance.pk else model.objects.all()
    if value and others.filter(**{field: value}).exists():
        raise ValidationError({field: message})


@transaction.atomic
def product_line_create(**data: Any) -> ProductLine:
    line = ProductLine(**data)
    _unique(ProductLine, line, data, "code", _("Another product line has this code."))
    line.full_clean()
    line.save()
    return line


@transaction.atomic
def product_line_update(*, line: ProductLine, data: dict[str, Any]) -> ProductLine:
    _unique(ProductLine, line, data, "code", _("Another product line has this code."))
    line, _changed = model_update(instance=line, fields=LINE_FIELDS, data=data)
    return line


@transaction.atomic
def product_create(**data: Any) -> Product:
    product = Product(**data)
    _unique(Product, product, data, "code", _("Another product has this code."))
    product.full_clean()
    product.save()
    return product


@transaction.atomic
def product_update(*, product: Product, data: dict[str, Any]) -> Product:
    _unique(Product, product, data, "code", _("Another product has this code."))
    product, _changed = model_update(instance=product, fields=PRODUCT_FIELDS, data=data)
    return product


@transaction.atomic
def product_plan_set(*, year: int, line: ProductLine, region, **data: Any) -> ProductPlan:  # noqa: ANN001
    """Create or change the plan line of (year, product line, region)."""
    plan = ProductPlan.objects.select_for_update().filter(year=year, line=line, region=region).first()
    if plan is None:
        plan = ProductPlan(year=year, line=line, region=region, **data)
        plan.full_clean()
        plan.save()
        return plan
    plan, _changed = model_update(instance=plan, fields=PLAN_FIELDS, data=data)
    return plan


# ---- who may maintain the catalogue, upserts and the plan grid (added for the UI and the API) -------

def catalogue_require(*, user) -> None:  # noqa: ANN001
    """Refuse (PermissionDenied: 403 in the UI and the API) anyone who may not maintain the catalogue."""
    from django.core.exceptions import PermissionDenied

    from kamcrm.products.selectors import can_maintain_catalogue

    if not can_maintain_catalogue(user):
        raise PermissionDenied(_("Only administrators and business management may maintain the product catalogue."))


def _by_external_id(model, source_system: str, external_id: str):  # noqa: ANN001, ANN202
    return model.objects.select_for_update().filter(source_system=source_system, external_id=external_id).first()


@transaction.atomic
def product_line_upsert(*, source_system: str, external_id: str, data: dict[str, Any]) -> tuple[ProductLine, bool]:
    """Create or update the product line with this (source system, external id); (line, created)."""
    data = {**data, "source_system": source_system, "external_id": external_id}
    existing = _by_external_id(ProductLine, source_system, external_id)
    if existing is None:
        return product_line_create(**data), True
    return product_line_update(line=existing, data=data), False


@transaction.atomic
def product_upsert(*, source_system: str, external_id: str, data: dict[str, Any]) -> tuple[Product, bool]:
    """Create or update the product with this (source system, external id); (product, created)."""
    data = {**data, "source_system": source_system, "external_id": external_id}
    existing = _by_external_id(Product, source_system, external_id)
    if existing is None:
        return product_create(**data), True
    return product_update(product=existing, data=data), False


@transaction.atomic
def product_plan_clear(*, year: int, line: ProductLine, region) -> bool:  # noqa: ANN001
    """Take a product line out of a region's plan for the year; True if there was an entry."""
    plan = ProductPlan.objects.select_for_update().filter(year=year, line=line, region=region).first()
    if plan is None:
        return False
    plan.delete()
    return True


@transaction.atomic
def product_plan_apply(*, year: int, entries: list[dict[str, Any]], by) -> int:  # noqa: ANN001
    """Save a whole grid of the year's plan: each entry {line, region, priority, target_amount, notes};
    an empty priority takes the line out of that region's plan. All or nothing; errors are keyed
    `<line id>_<region id>.<field>` so the grid can show them on the cell. Returns the entries changed."""
    catalogue_require(user=by)
    if not 2000 <= int(year) <= 2100:
        raise ValidationError({"year": _("Choose a year between 2000 and 2100.")})
    changed = 0
    errors: dict[str, list[str]] = {}
    for entry in entries:
        line, region = entry["line"], entry["region"]
        priority = entry.get("priority") or ""
        try:
            if not priority:
                changed += product_plan_clear(year=year, line=line, region=region)
                continue
            existing = ProductPlan.objects.filter(year=year, line=line, region=region).first()
            data = {"priority": priority, "target_amount": entry.get("target_amount"),
                    "notes": entry.get("notes") or ""}
            if existing is not None and all(
                    getattr(existing, k) == v for k, v in data.items()):
                continue
            product_plan_set(year=year, line=line, region=region, **data)
            changed += 1
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                errors.setdefault(f"{line.pk}_{region.pk}.{key}", []).extend(messages)
    if errors:
        raise ValidationError(errors)
    return changed

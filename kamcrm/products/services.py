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

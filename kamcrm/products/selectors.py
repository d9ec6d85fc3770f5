"""Reads of the product catalogue and the product plan, shared by the UI, the API and exports.

The catalogue is company-wide reference data: every signed-in user reads it; only administrators
and business management maintain it (`can_maintain_catalogue`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext

from kamcrm.core.pagination import Page, keyset_page
from kamcrm.org.choices import UnitKind
from kamcrm.org.models import OrgUnit, User
from kamcrm.org.selectors import manages_business_settings
from kamcrm.products.filtersets import ProductFilterSet, ProductLineFilterSet, ProductPlanFilterSet
from kamcrm.products.models import Product, ProductLine, ProductPlan

__all__ = ["LINE_SORTS", "PLAN_SORTS", "PRODUCT_SORTS", "PlanGrid", "can_maintain_catalogue", "plan_grid",
           "plan_regions", "product_get", "product_line_get", "product_line_queryset", "product_lines",
           "product_list", "product_plan_queryset", "product_queryset"]

# Each sort is backed by an index ending in a unique key (code is unique; name has product_name).
PRODUCT_SORTS: dict[str, list[str]] = {"code": ["code", "id"], "name": ["name", "id"]}
LINE_SORTS: dict[str, list[str]] = {"code": ["code", "id"]}
PLAN_SORTS: dict[str, list[str]] = {"id": ["id"]}


def can_maintain_catalogue(user: User | None) -> bool:
    """Who may maintain product lines, products and the product plan (org.selectors.manages_business_settings)."""
    return manages_business_settings(user)


def _filtered(filterset_class, qs: QuerySet, filters: dict[str, Any] | None) -> QuerySet:
    fs = filterset_class(data=filters or {}, queryset=qs)
    if not fs.is_valid():
        raise ValidationError({k: [str(m) for m in v] for k, v in fs.errors.items()})
    return fs.qs


def product_line_queryset(*, user: User | None = None, filters: dict[str, Any] | None = None) -> QuerySet[ProductLine]:
    return _filtered(ProductLineFilterSet, ProductLine.objects.all(), filters)


def product_lines(*, active_only: bool = False) -> list[ProductLine]:
    """Every product line with its number of products (one query; the table is small)."""
    qs = ProductLine.objects.annotate(product_count=Count("products")).order_by("code", "id")
    if active_only:
        qs = qs.filter(is_active=True)
    return list(qs)


def product_line_get(*, pk: int) -> ProductLine:
    return get_object_or_404(ProductLine, pk=pk)


def product_queryset(*, user: User | None = None, filters: dict[str, Any] | None = None) -> QuerySet[Product]:
    return _filtered(ProductFilterSet, Product.objects.select_related("line"), filters)


def product_list(*, user: User | None = None, filters: dict[str, Any] | None = None, sort: str = "code",
                 cursor: str | None = None, page_size: int = 50) -> Page:
    order = PRODUCT_SORTS.get(sort)
    if order is None:
        raise ValidationError({"sort": [gettext("Unknown sort “%(sort)s”; use one of: %(choices)s.")
                                      % {"sort": sort, "choices": ", ".join(PRODUCT_SORTS)}]})
    return keyset_page(product_queryset(user=user, filters=filters), order=order, cursor=cursor,
                       page_size=page_size)


def product_get(*, pk: int) -> Product:
    return get_object_or_404(Product.objects.select_related("line"), pk=pk)


def product_plan_queryset(*, user: User | None = None, filters: dict[str, Any] | None = None
                          ) -> QuerySet[ProductPlan]:
    return _filtered(ProductPlanFilterSet, ProductPlan.objects.select_related("line", "region"), filters)


def plan_regions() -> list[OrgUnit]:
    """The columns of the plan grid: active regions and branches, in tree order."""
    return list(OrgUnit.objects.filter(kind__in=[UnitKind.REGION, UnitKind.BRANCH], is_active=True).order_by("path"))


@dataclass
class PlanGrid:
    year: int
    lines: list[ProductLine]
    regions: list[OrgUnit]
    cells: dict[tuple[int, int], ProductPlan] = field(default_factory=dict)

    def rows(self) -> list[tuple[ProductLine, list[tuple[OrgUnit, ProductPlan | None]]]]:
        return [(line, [(region, self.cells.get((line.pk, region.pk))) for region in self.regions])
                for line in self.lines]


def plan_grid(*, year: int) -> PlanGrid:
    """The year's plan as a grid of product lines × regions (three queries whatever its size).

    Lines are the active ones plus any inactive line that still has a plan entry that year."""
    plans = list(ProductPlan.objects.filter(year=year).select_related("line", "region"))
    planned_lines = {p.line_id for p in plans}
    lines = [line for line in ProductLine.objects.order_by("code", "id") if line.is_active or line.pk in planned_lines]
    regions = plan_regions()
    region_ids = {r.pk for r in regions}
    regions += sorted({p.region for p in plans if p.region_id not in region_ids}, key=lambda r: r.path)
    return PlanGrid(year=year, lines=lines, regions=regions, cells={(p.line_id, p.region_id): p for p in plans})

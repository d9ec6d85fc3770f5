"""API of the product catalogue and the product plan: thin ViewSets over the products services.

Everyone signed in reads (integration tokens need the read scope); creating and changing needs a
catalogue maintainer (administrator or business management: `products.selectors.can_maintain_catalogue`),
others get 403. Nothing is deleted through the API: retire a product (`status`) or deactivate a line.
"""
from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action

from kamcrm.core.api.views import ApiViewSetMixin
from kamcrm.customers.api.views import EXTERNAL_ID_PARAMS, EXTERNAL_ID_PATH, _take_external_id
from kamcrm.products import services
from kamcrm.products.api.serializers import (
    BriefProductLineSerializer,
    BriefProductSerializer,
    ProductLineSerializer,
    ProductPlanSerializer,
    ProductSerializer,
)
from kamcrm.products.filtersets import ProductFilterSet, ProductLineFilterSet, ProductPlanFilterSet
from kamcrm.products.models import Product, ProductLine, ProductPlan
from kamcrm.products.selectors import PRODUCT_SORTS

__all__ = ["ProductLineViewSet", "ProductPlanViewSet", "ProductViewSet"]

WRITE_METHODS = ["get", "post", "put", "patch", "head", "options"]


class CatalogueViewSetMixin(ApiViewSetMixin):
    def upsert_response(self, request, model, upsert, source_system: str, external_id: str):  # noqa: ANN001
        """GET or PUT by (source system, external id): PUT creates (201) or updates (200) through `upsert`."""
        if request.method == "GET":
            return self.render(self.by_external_id(source_system, external_id))
        services.catalogue_require(user=request.user)
        with transaction.atomic():
            existing = model.objects.filter(source_system=source_system, external_id=external_id).first()
            data = self.parse(instance=existing, partial=existing is not None)
            _take_external_id(data, source_system, external_id)
            record, created = upsert(source_system=source_system, external_id=external_id, data=data)
        return self.render(record, status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    def by_external_id(self, source_system: str, external_id: str):
        from django.http import Http404

        obj = self.get_queryset().filter(source_system=source_system, external_id=external_id).first()
        if obj is None:
            raise Http404
        return obj


class ProductLineViewSet(CatalogueViewSetMixin, viewsets.ModelViewSet):
    """Product lines (产品线)."""

    serializer_class = ProductLineSerializer
    brief_serializer_class = BriefProductLineSerializer
    filterset_class = ProductLineFilterSet
    keyset_order = ["code", "id"]
    http_method_names = WRITE_METHODS

    def get_queryset(self):
        return ProductLine.objects.all()

    def create(self, request, *args, **kwargs):
        services.catalogue_require(user=request.user)
        line = services.product_line_create(**self.parse())
        return self.render(line, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        line = self.get_object()
        services.catalogue_require(user=request.user)
        data = self.parse(instance=line, partial=kwargs.get("partial", False))
        return self.render(services.product_line_update(line=line, data=data))

    @extend_schema(methods=["GET"], parameters=EXTERNAL_ID_PARAMS, responses=ProductLineSerializer,
                   description="The product line with this (source system, external id).")
    @extend_schema(methods=["PUT"], parameters=EXTERNAL_ID_PARAMS, request=ProductLineSerializer,
                   responses={200: ProductLineSerializer, 201: ProductLineSerializer},
                   description="Create (201) or update (200) the product line with this (source system, "
                               "external id). Fields left out keep their values.")
    @action(detail=False, methods=["get", "put"], url_path=EXTERNAL_ID_PATH, filter_backends=[],
            pagination_class=None)
    def upsert(self, request, source_system: str, external_id: str):
        return self.upsert_response(request, ProductLine, services.product_line_upsert, source_system, external_id)


class ProductViewSet(CatalogueViewSetMixin, viewsets.ModelViewSet):
    """Products (产品) with code, unit, list price, status and lifecycle dates."""

    serializer_class = ProductSerializer
    brief_serializer_class = BriefProductSerializer
    filterset_class = ProductFilterSet
    keyset_order = PRODUCT_SORTS["code"]
    keyset_sorts = PRODUCT_SORTS
    http_method_names = WRITE_METHODS

    def get_queryset(self):
        return Product.objects.select_related("line")

    def create(self, request, *args, **kwargs):
        services.catalogue_require(user=request.user)
        product = services.product_create(**self.parse())
        return self.render(product, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        product = self.get_object()
        services.catalogue_require(user=request.user)
        data = self.parse(instance=product, partial=kwargs.get("partial", False))
        return self.render(services.product_update(product=product, data=data))

    @extend_schema(methods=["GET"], parameters=EXTERNAL_ID_PARAMS, responses=ProductSerializer,
                   description="The product with this (source system, external id).")
    @extend_schema(methods=["PUT"], parameters=EXTERNAL_ID_PARAMS, request=ProductSerializer,
                   responses={200: ProductSerializer, 201: ProductSerializer},
                   description="Create (201) or update (200) the product with this (source system, external id). "
                               "The line is named by `line` (id) or `line_code`. Fields left out keep their values.")
    @action(detail=False, methods=["get", "put"], url_path=EXTERNAL_ID_PATH, filter_backends=[],
            pagination_class=None)
    def upsert(self, request, source_system: str, external_id: str):
        return self.upsert_response(request, Product, services.product_upsert, source_system, external_id)


class ProductPlanViewSet(ApiViewSetMixin, viewsets.ModelViewSet):
    """The product plan (产品规划): per year, which product lines are pushed in which region, with a
    priority and an optional target amount. POST of an existing (year, line, region) updates it (200)."""

    serializer_class = ProductPlanSerializer
    filterset_class = ProductPlanFilterSet
    keyset_order = ["id"]
    http_method_names = WRITE_METHODS

    def get_queryset(self):
        return ProductPlan.objects.select_related("line", "region")

    @extend_schema(responses={200: ProductPlanSerializer, 201: ProductPlanSerializer},
                   description="Create (201) or update (200) the plan entry of (year, line, region).")
    def create(self, request, *args, **kwargs):
        services.catalogue_require(user=request.user)
        data = self.parse()
        year, line, region = data.pop("year"), data.pop("line"), data.pop("region")
        with transaction.atomic():
            existed = ProductPlan.objects.filter(year=year, line=line, region=region).exists()
            plan = services.product_plan_set(year=year, line=line, region=region, **data)
        return self.render(plan, status.HTTP_200_OK if existed else status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        plan = self.get_object()
        services.catalogue_require(user=request.user)
        data = self.parse(instance=plan, partial=kwargs.get("partial", False))
        for name in ("year", "line", "region"):
            data.pop(name, None)
        plan = services.product_plan_set(year=plan.year, line=plan.line, region=plan.region, **data)
        return self.render(plan)

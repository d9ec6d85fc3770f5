"""The base of every API ViewSet, and the attribute-definition endpoint.

ViewSets stay thin: they parse a body with the model's serializer, call a service with the
validated values, and render the result. `serializer.save()` is never used, so every write goes
through the same service (and the same audit) as the UI.
"""
from __future__ import annotations

from typing import Any

from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import status, viewsets
from rest_framework.filters import BaseFilterBackend
from rest_framework.response import Response

from kamcrm.api.auth import IsAdministratorOrReadOnly
from kamcrm.core.api.serializers import AttributeDefinitionSerializer, BriefAttributeDefinitionSerializer
from kamcrm.core.attribute_services import (
    attribute_definition_create,
    attribute_definition_delete,
    attribute_definition_update,
)
from kamcrm.core.models import AttributeDefinition

__all__ = ["ApiViewSetMixin", "AttributeDefinitionViewSet", "BriefFilterBackend"]

TRUE_WORDS = {"1", "true", "yes", "on"}


class BriefFilterBackend(BaseFilterBackend):
    """Filters nothing; documents `?brief=true` (the short form of each row) in the schema."""

    def filter_queryset(self, request, queryset, view):
        return queryset

    def get_schema_operation_parameters(self, view):
        if getattr(view, "brief_serializer_class", None) is None:
            return []
        return [{"name": "brief", "required": False, "in": "query", "schema": {"type": "boolean"},
                 "description": "Return only the short (brief) form of each row."}]


class ApiViewSetMixin:
    """Brief mode, keyset ordering and the parse/render helpers every kamcrm ViewSet uses."""

    brief_serializer_class = None
    filter_backends = [DjangoFilterBackend, BriefFilterBackend]
    keyset_order: list[str] = ["id"]
    keyset_sorts: dict[str, list[str]] = {}
    lookup_value_regex = r"\d+"

    @property
    def brief(self) -> bool:
        request = getattr(self, "request", None)
        return request is not None and request.query_params.get("brief", "").lower() in TRUE_WORDS

    def filter_queryset(self, queryset):
        # Filters narrow lists only; a detail or an action on one record ignores list filters.
        if getattr(self, "action", None) != "list":
            return queryset
        return super().filter_queryset(queryset)

    def get_serializer_class(self):
        if self.brief_serializer_class is not None and self.action in ("list", "retrieve") and self.brief:
            return self.brief_serializer_class
        return super().get_serializer_class()

    def parse(self, *, instance=None, partial: bool = False, data=None, **context: Any) -> dict[str, Any]:
        """Validate the request body with the model serializer; return its validated values."""
        serializer = self.serializer_class(instance, data=self.request.data if data is None else data,
                                           partial=partial,
                                           context={**self.get_serializer_context(), **context})
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def render(self, instance, code: int = status.HTTP_200_OK) -> Response:
        return Response(self.serializer_class(instance, context=self.get_serializer_context()).data, status=code)


class AttributeDefinitionViewSet(ApiViewSetMixin, viewsets.ModelViewSet):
    """Custom attribute definitions: readable by everyone, maintained by administrators."""

    queryset = AttributeDefinition.objects.all()
    serializer_class = AttributeDefinitionSerializer
    brief_serializer_class = BriefAttributeDefinitionSerializer
    permission_classes = [IsAdministratorOrReadOnly]
    filterset_fields = ["entity", "type", "key", "filterable", "required"]
    keyset_order = ["entity", "order", "key", "id"]

    def create(self, request, *args, **kwargs):
        data = self.parse()
        definition = attribute_definition_create(**data)
        return self.render(definition, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        definition = self.get_object()
        data = self.parse(instance=definition, partial=kwargs.get("partial", False))
        definition = attribute_definition_update(definition=definition, data=data)
        return self.render(definition)

    def destroy(self, request, *args, **kwargs):
        definition = self.get_object()
        attribute_definition_delete(definition=definition)
        return Response(status=status.HTTP_204_NO_CONTENT)

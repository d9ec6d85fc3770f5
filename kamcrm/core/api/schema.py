"""drf-spectacular extensions for the API building blocks (loaded by kamcrm.api.urls)."""
from drf_spectacular.contrib.django_filters import DjangoFilterExtension, _NoHint
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import build_basic_type, is_basic_type
from drf_spectacular.types import OpenApiTypes


class BriefRelatedFieldExtension(OpenApiSerializerFieldExtension):
    """A related record: an integer id in requests, its brief object in responses."""

    target_class = "kamcrm.core.api.serializers.BriefRelatedField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        if direction == "response":
            return auto_schema.resolve_serializer(self.target.serializer_class, direction).ref
        schema = build_basic_type(OpenApiTypes.INT)
        schema["description"] = "Id of the related record."
        return schema


class FilterSetExtension(DjangoFilterExtension):
    """django-filter parameters, where a filter method's hint is a model (`value: OrgUnit`):
    such a filter takes the record's id, so it is described from the model field, not as a string."""

    priority = 1

    def _get_filter_method_hint(self, filter_method):
        hint = super()._get_filter_method_hint(filter_method)
        if hint is not _NoHint and not is_basic_type(hint):
            return _NoHint
        return hint

"""API building blocks shared by every app, and the attribute-definition serializer.

NetBox style: one serializer per model for full reads and writes, plus a short "brief" serializer
used when the model is nested inside another (and for `?brief=true` lists). A related record is
written by id and read as its brief form, through `BriefRelatedField`.
"""
from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import QuerySet
from django.urls import get_script_prefix, reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from kamcrm.core.models import AttributeDefinition

__all__ = ["AttributeDefinitionSerializer", "AttributesField", "BriefAttributeDefinitionSerializer",
           "BriefRelatedField", "DetailUrlField", "DisplayField", "ModelSerializer", "ReferenceSerializerMixin",
           "resolve_reference"]


class ModelSerializer(serializers.ModelSerializer):
    """DRF's ModelSerializer with its fields built from the model once per class, then copied.

    DRF rebuilds them from the model's fields on every instantiation (for a detail GET that was a
    third of the request's time). Each serializer still gets fields of its own, so a `get_fields()`
    override that narrows a queryset per user changes only its copy (see `_copy_field`)."""

    def get_fields(self):
        cls = type(self)
        built = cls.__dict__.get("_built_fields")
        if built is None:
            built = super().get_fields()
            cls._built_fields = built
        return {name: _copy_field(field) for name, field in built.items()}


def _copy_field(field: serializers.Field) -> serializers.Field:
    """A fresh, unbound copy of a built field.

    DRF's own deepcopy calls the field's __init__ again with its arguments (hundreds of calls per
    detail GET). A leaf field keeps nothing per instance but its binding (set later by `bind`) and
    its validator list, so a shallow copy with its own list is as good; a field that holds another
    field or serializer bound to itself (nested serializers, list and many-related fields) is deep
    copied as before."""
    if isinstance(field, serializers.BaseSerializer) or hasattr(field, "child") or hasattr(field, "child_relation"):
        return copy.deepcopy(field)
    clone = copy.copy(field)
    if "_validators" in field.__dict__:
        clone._validators = list(field._validators)
    return clone


_PLACEHOLDER = 987654321  # stands for the id while a route is reversed once (any \d+ route accepts it)
_URL_PARTS: dict[tuple[str, str], tuple[str, str]] = {}


class DetailUrlField(serializers.HyperlinkedIdentityField):
    """The record's API URL (`url`), the same text as DRF's HyperlinkedIdentityField writes.

    DRF reverses the route for every row it writes: with the nested records of a list of 50
    opportunities, 318 times a request (~10 ms). Here a route is reversed once per process with a
    placeholder id and each row fills in its own; the scheme and host come from the request, once per
    request. Anything unusual (a format suffix, API versioning, another lookup field) takes DRF's way."""

    def get_url(self, obj, view_name, request, format):  # noqa: A002 (DRF's signature)
        if format or self.lookup_field != "pk" or getattr(request, "versioning_scheme", None) is not None:
            return super().get_url(obj, view_name, request, format)
        if obj.pk in (None, ""):
            return None
        key = (view_name, get_script_prefix())
        parts = _URL_PARTS.get(key)
        if parts is None:
            path = reverse(view_name, kwargs={self.lookup_url_kwarg: _PLACEHOLDER})
            head, found, tail = path.partition(str(_PLACEHOLDER))
            if not found:
                return super().get_url(obj, view_name, request, format)
            parts = _URL_PARTS[key] = (head, tail)
        path = f"{parts[0]}{obj.pk}{parts[1]}"
        if request is None:
            return path
        origin = request.__dict__.get("_kamcrm_url_origin")
        if origin is None:
            origin = request.__dict__["_kamcrm_url_origin"] = request.build_absolute_uri("/")[:-1]
        return origin + path


class DisplayField(serializers.CharField):
    """The record's display text (its `__str__`), as NetBox's `display`."""

    def __init__(self, **kwargs):
        kwargs.setdefault("source", "__str__")
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def get_attribute(self, instance):
        # DRF would inspect the signature of the bound __str__ for every row before calling it.
        return str(instance) if self.source == "__str__" else super().get_attribute(instance)


class BriefRelatedField(serializers.PrimaryKeyRelatedField):
    """Written as an id (or {"id": n}); read as the related record's brief serializer.

    `scope(queryset, user)` narrows what may be referenced (e.g. only visible accounts), so an
    invisible record is answered exactly like one that does not exist.
    """

    default_error_messages = {
        "does_not_exist": _("No such record (id {pk_value}), or you may not see it."),
        "incorrect_type": _("An id (whole number) is required, not {data_type}."),
    }

    def __init__(self, serializer_class: type[serializers.Serializer], *,
                 scope: Callable[[QuerySet, Any], QuerySet] | None = None, **kwargs):
        self.serializer_class = serializer_class
        self.scope = scope
        super().__init__(**kwargs)

    def use_pk_only_optimization(self) -> bool:
        return False

    def get_queryset(self):
        qs = super().get_queryset()
        request = self.context.get("request")
        if self.scope is not None and qs is not None:
            qs = self.scope(qs, getattr(request, "user", None))
        return qs

    def to_internal_value(self, data):
        if isinstance(data, dict):
            if "id" not in data:
                self.fail("incorrect_type", data_type="object without id")
            data = data["id"]
        return super().to_internal_value(data)

    @cached_property
    def _brief(self) -> serializers.Serializer:
        # One brief serializer per field, reused for every row of a list (its fields are built once).
        return self.serializer_class(context=self.context)

    def to_representation(self, value):
        return self._brief.to_representation(value)


def resolve_reference(attrs: dict[str, Any], errors: dict[str, list[str]], *, field: str, alt: str,
                      lookup: Callable[[str], Any], missing: str) -> None:
    """Let a body name a related record by another key (e.g. `owner_username` for `owner`).

    The alternative key is resolved with `lookup(value)` (None when nothing matches) and stored
    under `field`; a mismatch with an id sent in the same body is an error on the alternative key.
    """
    if alt not in attrs:
        return
    raw = attrs.pop(alt)
    if raw in (None, ""):
        return
    try:
        found = lookup(raw)
    except ObjectDoesNotExist:
        found = None
    if found is None:
        errors[alt] = [missing % {"value": raw}]
        return
    if field in attrs and attrs[field] is not None and attrs[field].pk != found.pk:
        errors[alt] = [str(_("Names a different record than “%(field)s”.")) % {"field": field}]
        return
    attrs[field] = found


class ReferenceSerializerMixin:
    """For model serializers whose required relations may also be named by an alternative key.

    `required_on_create = {"region": "region_code"}`: a create must send one of the two. The check
    runs with the field checks, so a body missing it gets that error together with all others.
    """

    required_on_create: dict[str, str] = {}

    def to_internal_value(self, data):
        errors: dict[str, Any] = {}
        value = None
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if not isinstance(exc.detail, dict):
                raise
            errors = dict(exc.detail)
        if self.instance is None and not self.partial and hasattr(data, "get"):
            for field, alt in self.required_on_create.items():
                if data.get(field) in (None, "") and data.get(alt) in (None, "") and field not in errors:
                    errors[field] = [serializers.ErrorDetail(str(_("This field is required.")), code="required")]
        if errors:
            raise serializers.ValidationError(errors)
        return value


class BriefAttributeDefinitionSerializer(ModelSerializer):
    url = DetailUrlField(view_name="api:attributedefinition-detail")
    display = DisplayField()

    class Meta:
        model = AttributeDefinition
        fields = ["id", "url", "display", "entity", "key", "type"]


class AttributeDefinitionSerializer(ModelSerializer):
    url = DetailUrlField(view_name="api:attributedefinition-detail")
    display = DisplayField()
    label = serializers.CharField(read_only=True)
    choices = serializers.ListField(child=serializers.CharField(max_length=100), required=False)

    class Meta:
        model = AttributeDefinition
        fields = ["id", "url", "display", "entity", "key", "label", "label_zh", "label_en", "type", "choices",
                  "required", "filterable", "min_value", "max_value", "max_length", "order", "created_at",
                  "updated_at"]
        read_only_fields = ["created_at", "updated_at"]
        # Uniqueness (entity, key) is checked by the model in full_clean, with the field named.
        validators: list = []


@extend_schema_field({"type": "object", "additionalProperties": True,
                      "description": "Custom attributes: {key: value}; keys and value types follow the "
                                     "attribute definitions of the entity (see /api/v1/attribute-definitions/)."})
class AttributesField(serializers.DictField):
    """The `attributes` object; the custom-attribute engine validates it in the service."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            self.fail("not_a_dict", input_type=type(data).__name__)
        return dict(data)

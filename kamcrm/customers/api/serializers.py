"""Serializers of accounts, contacts, account teams and the account's timeline and history.

Bodies name related records by id (`owner`, `region`, `parent`, `account`, `user`) or, for
records fed from another system, by a natural key: `owner_username`, `region_code`,
`parent_external_id` / `account_external_id` (within the same source system). Serializers only
parse; the services validate the rest (credit code, custom attributes, hierarchy) and write.
"""
from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from kamcrm.audit.models import ObjectChange, TimelineEvent
from kamcrm.core.api.serializers import (
    AttributesField,
    BriefRelatedField,
    DetailUrlField,
    DisplayField,
    ModelSerializer,
    ReferenceSerializerMixin,
    resolve_reference,
)
from kamcrm.customers.models import Account, AccountTeamMember, Contact
from kamcrm.org.api.serializers import BriefOrgUnitSerializer, BriefUserSerializer
from kamcrm.org.models import OrgUnit, User
from kamcrm.org.selectors import visible

__all__ = ["AccountSerializer", "AccountTeamMemberSerializer", "BriefAccountSerializer",
           "BriefAccountTeamMemberSerializer", "BriefContactSerializer", "ContactSerializer",
           "HistoryPageSerializer", "ObjectChangeSerializer", "TimelineEventSerializer", "TimelinePageSerializer"]

class BriefAccountSerializer(ModelSerializer):
    url = DetailUrlField(view_name="api:account-detail")
    display = DisplayField()

    class Meta:
        model = Account
        fields = ["id", "url", "display", "name"]


class BriefContactSerializer(ModelSerializer):
    url = DetailUrlField(view_name="api:contact-detail")
    display = DisplayField()

    class Meta:
        model = Contact
        fields = ["id", "url", "display", "name"]


class BriefAccountTeamMemberSerializer(ModelSerializer):
    url = DetailUrlField(view_name="api:accountteammember-detail")
    display = DisplayField()

    class Meta:
        model = AccountTeamMember
        fields = ["id", "url", "display", "team_role", "access"]


def _source_system(serializer: serializers.Serializer, attrs: dict[str, Any]) -> str:
    """The source system that `*_external_id` references are looked up in."""
    if "source_system" in serializer.context:
        return serializer.context["source_system"]
    if "source_system" in attrs:
        return attrs["source_system"]
    return getattr(serializer.instance, "source_system", "") or ""


class AccountSerializer(ReferenceSerializerMixin, ModelSerializer):
    url = DetailUrlField(view_name="api:account-detail")
    display = DisplayField()
    region = BriefRelatedField(BriefOrgUnitSerializer, queryset=OrgUnit.objects.all(), required=False)
    parent = BriefRelatedField(BriefAccountSerializer, queryset=Account.objects.all(), scope=visible,
                               required=False, allow_null=True)
    owner = BriefRelatedField(BriefUserSerializer, queryset=User.objects.filter(is_active=True), required=False,
                              help_text=_("Defaults to the user making the request."))
    owner_unit = BriefOrgUnitSerializer(read_only=True)
    tags = serializers.ListField(child=serializers.CharField(max_length=50), required=False)
    attributes = AttributesField(required=False)
    owner_username = serializers.CharField(write_only=True, required=False,
                                           help_text=_("The owner by login name, instead of `owner`."))
    region_code = serializers.CharField(write_only=True, required=False,
                                        help_text=_("The region by unit code, instead of `region`."))
    parent_external_id = serializers.CharField(
        write_only=True, required=False,
        help_text=_("The group customer by its external id in the same source system, instead of `parent`."))
    required_on_create = {"region": "region_code"}

    class Meta:
        model = Account
        fields = ["id", "url", "display", "name", "short_name", "credit_code", "industry", "tier", "status",
                  "region", "parent", "owner", "owner_unit", "tags", "address", "website", "phone", "description",
                  "attributes", "source_system", "external_id", "created_at", "updated_at",
                  "owner_username", "region_code", "parent_external_id"]
        read_only_fields = ["created_at", "updated_at"]
        # Uniqueness (credit code; source system + external id) is checked by the model in the service.
        validators: list = []

    def validate(self, attrs):
        errors: dict[str, list[str]] = {}
        user = getattr(self.context.get("request"), "user", None)
        resolve_reference(attrs, errors, field="owner", alt="owner_username",
                          lookup=lambda v: User.objects.filter(username=v, is_active=True).first(),
                          missing=str(_("No active user with login name “%(value)s”.")))
        resolve_reference(attrs, errors, field="region", alt="region_code",
                          lookup=lambda v: OrgUnit.objects.filter(code=v).first(),
                          missing=str(_("No unit with code “%(value)s”.")))
        source = _source_system(self, attrs)
        resolve_reference(attrs, errors, field="parent", alt="parent_external_id",
                          lookup=lambda v: visible(Account.objects.filter(source_system=source, external_id=v),
                                                   user).first(),
                          missing=str(_("No account with external id “%(value)s” in this source system.")))
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class ContactSerializer(ReferenceSerializerMixin, ModelSerializer):
    url = DetailUrlField(view_name="api:contact-detail")
    display = DisplayField()
    account = BriefRelatedField(BriefAccountSerializer, queryset=Account.objects.all(), scope=visible,
                                required=False)
    attributes = AttributesField(required=False)
    account_external_id = serializers.CharField(
        write_only=True, required=False,
        help_text=_("The account by its external id in the same source system, instead of `account`."))
    required_on_create = {"account": "account_external_id"}

    class Meta:
        model = Contact
        fields = ["id", "url", "display", "account", "name", "title", "department", "mobile", "phone", "email",
                  "decision_role", "relationship_strength", "birthday", "preferred_channel", "is_primary", "notes",
                  "attributes", "source_system", "external_id", "created_at", "updated_at", "account_external_id"]
        read_only_fields = ["created_at", "updated_at"]
        validators: list = []
        extra_kwargs = {"relationship_strength": {"min_value": 1, "max_value": 5}}

    def validate(self, attrs):
        errors: dict[str, list[str]] = {}
        user = getattr(self.context.get("request"), "user", None)
        source = _source_system(self, attrs)
        resolve_reference(attrs, errors, field="account", alt="account_external_id",
                          lookup=lambda v: visible(Account.objects.filter(source_system=source, external_id=v),
                                                   user).first(),
                          missing=str(_("No account with external id “%(value)s” in this source system.")))
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class AccountTeamMemberSerializer(ModelSerializer):
    url = DetailUrlField(view_name="api:accountteammember-detail")
    display = DisplayField()
    account = BriefRelatedField(BriefAccountSerializer, queryset=Account.objects.all(), scope=visible)
    user = BriefRelatedField(BriefUserSerializer, queryset=User.objects.filter(is_active=True))

    class Meta:
        model = AccountTeamMember
        fields = ["id", "url", "display", "account", "user", "team_role", "access", "valid_from", "valid_to", "reason",
                  "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]
        validators: list = []

    def validate(self, attrs):
        if self.instance is not None:
            errors = {name: [str(_("A team membership cannot move; remove it and add a new one."))]
                      for name in ("account", "user")
                      if name in attrs and attrs[name].pk != getattr(self.instance, f"{name}_id")}
            if errors:
                raise serializers.ValidationError(errors)
        return attrs


@extend_schema_field({"type": "string", "example": "customers.contact"})
class ObjectTypeField(serializers.Field):
    """The record's type as "app_label.model" (content types are cached: no query per row)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("source", "content_type_id")
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value):
        if value is None:
            return None
        ct = ContentType.objects.get_for_id(value)
        return f"{ct.app_label}.{ct.model}"


class TimelineEventSerializer(ModelSerializer):
    actor = BriefUserSerializer(read_only=True, allow_null=True)
    object_type = ObjectTypeField(allow_null=True)

    class Meta:
        model = TimelineEvent
        fields = ["id", "occurred_at", "kind", "summary", "body", "actor", "object_type", "object_id", "data"]
        read_only_fields = fields


class ObjectChangeSerializer(ModelSerializer):
    actor = BriefUserSerializer(read_only=True, allow_null=True)
    object_type = ObjectTypeField()

    class Meta:
        model = ObjectChange
        fields = ["id", "changed_at", "actor", "actor_name", "channel", "request_id", "action", "object_type",
                  "object_id", "object_repr", "changes"]
        read_only_fields = fields


class _PageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)


class TimelinePageSerializer(_PageSerializer):
    results = TimelineEventSerializer(many=True)


class HistoryPageSerializer(_PageSerializer):
    results = ObjectChangeSerializer(many=True)

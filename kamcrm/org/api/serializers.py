"""Serializers of the organisation: units (read and write) and people (read only)."""
from __future__ import annotations

from kamcrm.core.api.serializers import BriefRelatedField, DetailUrlField, DisplayField, ModelSerializer
from kamcrm.org.models import OrgUnit, User

__all__ = ["BriefOrgUnitSerializer", "BriefUserSerializer", "OrgUnitSerializer", "UserSerializer"]


class BriefOrgUnitSerializer(ModelSerializer):
    url = DetailUrlField(view_name="api:orgunit-detail")
    display = DisplayField()

    class Meta:
        model = OrgUnit
        fields = ["id", "url", "display", "name", "code", "kind"]


class BriefUserSerializer(ModelSerializer):
    url = DetailUrlField(view_name="api:user-detail")
    display = DisplayField()

    class Meta:
        model = User
        fields = ["id", "url", "display", "username"]


class OrgUnitSerializer(ModelSerializer):
    url = DetailUrlField(view_name="api:orgunit-detail")
    display = DisplayField()
    parent = BriefRelatedField(BriefOrgUnitSerializer, queryset=OrgUnit.objects.all(), required=False,
                               allow_null=True)
    head = BriefRelatedField(BriefUserSerializer, queryset=User.objects.all(), required=False, allow_null=True)

    class Meta:
        model = OrgUnit
        fields = ["id", "url", "display", "name", "code", "kind", "parent", "path", "depth", "head", "is_active",
                  "source_system", "external_id", "created_at", "updated_at"]
        read_only_fields = ["path", "depth", "created_at", "updated_at"]
        # Uniqueness (code; source system + external id) is checked by the model in the service.
        validators: list = []
        extra_kwargs = {"code": {"validators": []}}


class UserSerializer(ModelSerializer):
    url = DetailUrlField(view_name="api:user-detail")
    display = DisplayField()
    unit = BriefOrgUnitSerializer(read_only=True, allow_null=True)
    manager = BriefUserSerializer(read_only=True, allow_null=True)

    class Meta:
        model = User
        fields = ["id", "url", "display", "username", "display_name", "first_name", "last_name", "email", "phone",
                  "unit", "manager", "role", "is_active", "preferred_language", "source_system", "external_id"]
        read_only_fields = fields

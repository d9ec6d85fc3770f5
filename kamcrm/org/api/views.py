"""API of the organisation: units (read for everyone, write for administrators) and people (read)."""
from __future__ import annotations

from django.db import transaction
from rest_framework import mixins, status, viewsets

from kamcrm.api.auth import IsAdministratorOrReadOnly
from kamcrm.core.api.views import ApiViewSetMixin
from kamcrm.org.api.filtersets import OrgUnitFilterSet, UserFilterSet
from kamcrm.org.api.serializers import (
    BriefOrgUnitSerializer,
    BriefUserSerializer,
    OrgUnitSerializer,
    UserSerializer,
)
from kamcrm.org.models import OrgUnit, User
from kamcrm.org.selectors import USER_SORTS
from kamcrm.org.services import org_unit_create, org_unit_update

__all__ = ["OrgUnitViewSet", "UserViewSet"]


class OrgUnitViewSet(ApiViewSetMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Organisation units, in tree order. Units are deactivated (`is_active`), not deleted."""

    queryset = OrgUnit.objects.select_related("parent", "head")
    serializer_class = OrgUnitSerializer
    brief_serializer_class = BriefOrgUnitSerializer
    filterset_class = OrgUnitFilterSet
    permission_classes = [IsAdministratorOrReadOnly]
    keyset_order = ["path", "id"]
    keyset_sorts = {"path": ["path", "id"], "name": ["name", "id"], "-name": ["-name", "-id"]}

    def create(self, request, *args, **kwargs):
        unit = org_unit_create(**self.parse())
        return self.render(unit, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        with transaction.atomic():
            unit = self.get_object()
            data = self.parse(instance=unit, partial=kwargs.get("partial", False))
            unit = org_unit_update(unit=unit, data=data)
        return self.render(unit)


class UserViewSet(ApiViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """People: login name, display name, primary unit, manager and role. Read only through the API."""

    queryset = User.objects.select_related("unit", "manager")
    serializer_class = UserSerializer
    brief_serializer_class = BriefUserSerializer
    filterset_class = UserFilterSet
    keyset_order = ["username", "id"]
    keyset_sorts = USER_SORTS

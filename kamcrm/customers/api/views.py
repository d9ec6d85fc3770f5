"""API of accounts, contacts and account teams: thin ViewSets over the customers services.

Access (docs/architecture.md, "Visibility"): every queryset is scoped by
`kamcrm.org.selectors.visible`. A record the user cannot see answers 404, whatever the method;
a write to a record they may see but not edit answers 403. Creating a contact or a team member
needs edit access to its account.

Who may own a new account (or become the owner of one) is decided by the service
(`customers.services.owner_assignable`), so the UI and the API apply the same rule.

Updates set only the fields a body sends (PUT must still send the required ones; PATCH and the
upsert of an existing record need not); custom `attributes` merge into the stored ones key by
key and a null removes a key (the services do this for every channel).
"""
from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from kamcrm.api.pagination import page_response, page_size_from
from kamcrm.core.api.views import ApiViewSetMixin
from kamcrm.customers.api.serializers import (
    AccountSerializer,
    AccountTeamMemberSerializer,
    BriefAccountSerializer,
    BriefAccountTeamMemberSerializer,
    BriefContactSerializer,
    ContactSerializer,
    HistoryPageSerializer,
    ObjectChangeSerializer,
    TimelineEventSerializer,
    TimelinePageSerializer,
)
from kamcrm.customers.filtersets import AccountFilterSet, ContactFilterSet
from kamcrm.customers.models import Account, AccountTeamMember, Contact
from kamcrm.customers.selectors import ACCOUNT_SORTS, CONTACT_SORTS, account_timeline, record_history
from kamcrm.customers.services import (
    account_create,
    account_update_for,
    account_upsert,
    contact_create,
    contact_delete,
    contact_update,
    contact_upsert,
    team_member_add,
    team_member_remove,
    team_member_update,
)
from kamcrm.org.models import User
from kamcrm.org.selectors import EDIT, can, get_visible_or_404, visible

__all__ = ["AccountTeamMemberViewSet", "AccountViewSet", "ContactViewSet"]

EXTERNAL_ID_PATH = r"by-external-id/(?P<source_system>[^/]+)/(?P<external_id>.+)"
EXTERNAL_ID_PARAMS = [
    OpenApiParameter("source_system", OpenApiTypes.STR, OpenApiParameter.PATH,
                     description="The system the record comes from (e.g. “crm-legacy”)."),
    OpenApiParameter("external_id", OpenApiTypes.STR, OpenApiParameter.PATH,
                     description="The record's id in that system."),
]
ATTR_FILTER_NOTE = ("Custom attributes marked filterable are filtered with `attr_<key>=<value>` "
                    "(see /api/v1/attribute-definitions/).")


def _take_external_id(data: dict[str, Any], source_system: str, external_id: str) -> None:
    """The URL names the record; a body that names another one is an error on that field."""
    errors = {}
    for name, value in (("source_system", source_system), ("external_id", external_id)):
        sent = data.pop(name, None)
        if sent not in (None, "", value):
            errors[name] = [_("Differs from the value in the URL (“%(v)s”).") % {"v": value}]
    if errors:
        raise ValidationError(errors)


def _require_edit(user: User, obj) -> None:
    if not can(user, obj, EDIT):
        raise PermissionDenied(_("You may see this record but not change it."))


class VisibleViewSetMixin(ApiViewSetMixin):
    """A ViewSet over a model hanging off an account: reads scoped by `visible`, writes need EDIT."""

    def get_object_for_edit(self):
        obj = self.get_object()  # 404 when the user cannot see it
        _require_edit(self.request.user, obj)  # 403 when they see it but may not change it
        return obj

    def existing_for_edit(self, model, source_system: str, external_id: str):
        """The record with this external id, locked; 404 if invisible, 403 if read-only, None if new."""
        existing = model.objects.select_for_update().filter(source_system=source_system,
                                                            external_id=external_id).first()
        if existing is not None:
            get_visible_or_404(model.objects.all(), self.request.user, pk=existing.pk)
            _require_edit(self.request.user, existing)
        return existing

    def by_external_id(self, source_system: str, external_id: str):
        obj = self.get_queryset().filter(source_system=source_system, external_id=external_id).first()
        if obj is None:
            raise Http404
        return obj


@extend_schema_view(list=extend_schema(description="Accounts the user may see. " + ATTR_FILTER_NOTE))
class AccountViewSet(VisibleViewSetMixin, viewsets.ModelViewSet):
    """Key accounts. Deleting an account is not offered through the API (set `status` to closed)."""

    serializer_class = AccountSerializer
    brief_serializer_class = BriefAccountSerializer
    filterset_class = AccountFilterSet
    keyset_order = ACCOUNT_SORTS["name"]
    keyset_sorts = ACCOUNT_SORTS
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    def get_queryset(self):
        qs = Account.objects.select_related("owner", "owner_unit", "region", "parent")
        return visible(qs, self.request.user)

    def create(self, request, *args, **kwargs):
        data = self.parse()
        data.setdefault("owner", request.user)
        account = account_create(by=request.user, **data)
        return self.render(account, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        account = self.get_object_for_edit()
        data = self.parse(instance=account, partial=kwargs.get("partial", False))
        account = account_update_for(user=request.user, account_id=account.pk, data=data)
        return self.render(account)

    @extend_schema(methods=["GET"], parameters=EXTERNAL_ID_PARAMS, responses=AccountSerializer,
                   description="The account with this (source system, external id).")
    @extend_schema(methods=["PUT"], parameters=EXTERNAL_ID_PARAMS, request=AccountSerializer,
                   responses={200: AccountSerializer, 201: AccountSerializer},
                   description="Create or update the account with this (source system, external id): 201 when "
                               "created, 200 when updated. Fields left out of the body keep their values; "
                               "`attributes` are merged key by key. Sending the same body again changes nothing.")
    @action(detail=False, methods=["get", "put"], url_path=EXTERNAL_ID_PATH, filter_backends=[],
            pagination_class=None)
    def upsert(self, request, source_system: str, external_id: str):
        if request.method == "GET":
            return self.render(self.by_external_id(source_system, external_id))
        with transaction.atomic():
            existing = self.existing_for_edit(Account, source_system, external_id)
            data = self.parse(instance=existing, partial=existing is not None, source_system=source_system)
            _take_external_id(data, source_system, external_id)
            if existing is None:
                data.setdefault("owner", request.user)
            account, created = account_upsert(source_system=source_system, external_id=external_id, data=data,
                                              by=request.user)
        return self.render(account, status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(
        parameters=[
            OpenApiParameter("kind", OpenApiTypes.STR, many=True,
                             description="Only these kinds (note, call, visit, email, meeting, field_change, ...)."),
            OpenApiParameter("cursor", OpenApiTypes.STR),
            OpenApiParameter("page_size", OpenApiTypes.INT, description="Rows per page (default 20, at most 200)."),
        ],
        responses={200: TimelinePageSerializer, 404: OpenApiResponse(description="Not found.")},
        description="The account's timeline, newest first, one keyset page at a time.",
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def timeline(self, request, pk=None):
        account = self.get_object()
        page = account_timeline(account=account, kinds=request.query_params.getlist("kind") or None,
                                cursor=request.query_params.get("cursor"),
                                page_size=page_size_from(request, 20, 200))
        data = TimelineEventSerializer(page.items, many=True, context=self.get_serializer_context()).data
        return page_response(request, page, data)

    @extend_schema(
        parameters=[
            OpenApiParameter("cursor", OpenApiTypes.STR),
            OpenApiParameter("page_size", OpenApiTypes.INT, description="Rows per page (default 20, at most 200)."),
        ],
        responses={200: HistoryPageSerializer, 404: OpenApiResponse(description="Not found.")},
        description="The audit log of the account record: who changed which field, when and through which channel.",
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def history(self, request, pk=None):
        account = self.get_object()
        page = record_history(model=Account, pk=account.pk, cursor=request.query_params.get("cursor"),
                              page_size=page_size_from(request, 20, 200))
        data = ObjectChangeSerializer(page.items, many=True, context=self.get_serializer_context()).data
        return page_response(request, page, data)


@extend_schema_view(list=extend_schema(description="Contacts of the accounts the user may see. " + ATTR_FILTER_NOTE))
class ContactViewSet(VisibleViewSetMixin, viewsets.ModelViewSet):
    """Contacts of accounts. Writing one needs edit access to its account."""

    serializer_class = ContactSerializer
    brief_serializer_class = BriefContactSerializer
    filterset_class = ContactFilterSet
    keyset_order = CONTACT_SORTS["name"]
    keyset_sorts = CONTACT_SORTS

    def get_queryset(self):
        return visible(Contact.objects.select_related("account"), self.request.user)

    def _check_account(self, account, current_account_id: int | None = None) -> None:
        if account is not None and account.pk != current_account_id:
            _require_edit(self.request.user, account)

    def create(self, request, *args, **kwargs):
        data = self.parse()
        self._check_account(data["account"])
        contact = contact_create(by=request.user, **data)
        return self.render(contact, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        contact = self.get_object_for_edit()
        data = self.parse(instance=contact, partial=kwargs.get("partial", False))
        self._check_account(data.get("account"), contact.account_id)
        with transaction.atomic():
            locked = get_visible_or_404(Contact.objects.select_for_update(of=("self",)), request.user, EDIT,
                                        pk=contact.pk)
            contact = contact_update(contact=locked, data=data, by=request.user)
        return self.render(contact)

    def destroy(self, request, *args, **kwargs):
        contact = self.get_object_for_edit()
        contact_delete(contact=contact, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(methods=["GET"], parameters=EXTERNAL_ID_PARAMS, responses=ContactSerializer,
                   description="The contact with this (source system, external id).")
    @extend_schema(methods=["PUT"], parameters=EXTERNAL_ID_PARAMS, request=ContactSerializer,
                   responses={200: ContactSerializer, 201: ContactSerializer},
                   description="Create or update the contact with this (source system, external id): 201 when "
                               "created, 200 when updated. The account is named by `account` (id) or "
                               "`account_external_id` in the same source system. Fields left out keep their "
                               "values; `attributes` are merged key by key.")
    @action(detail=False, methods=["get", "put"], url_path=EXTERNAL_ID_PATH, filter_backends=[],
            pagination_class=None)
    def upsert(self, request, source_system: str, external_id: str):
        if request.method == "GET":
            return self.render(self.by_external_id(source_system, external_id))
        with transaction.atomic():
            existing = self.existing_for_edit(Contact, source_system, external_id)
            data = self.parse(instance=existing, partial=existing is not None, source_system=source_system)
            _take_external_id(data, source_system, external_id)
            self._check_account(data.get("account"), existing.account_id if existing else None)
            contact, created = contact_upsert(source_system=source_system, external_id=external_id, data=data,
                                              by=request.user)
        return self.render(contact, status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class AccountTeamMemberViewSet(VisibleViewSetMixin, viewsets.ModelViewSet):
    """Account team members: people serving an account beyond its owner, with read or edit access."""

    serializer_class = AccountTeamMemberSerializer
    brief_serializer_class = BriefAccountTeamMemberSerializer
    filterset_fields = ["account", "user", "team_role", "access"]
    keyset_order = ["id"]

    def get_queryset(self):
        qs = AccountTeamMember.objects.select_related("account", "user")
        return visible(qs, self.request.user)

    def create(self, request, *args, **kwargs):
        data = self.parse()
        _require_edit(request.user, data["account"])
        member = team_member_add(by=request.user, **data)
        return self.render(member, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        member = self.get_object_for_edit()
        data = self.parse(instance=member, partial=kwargs.get("partial", False))
        data.pop("account", None)
        data.pop("user", None)
        member = team_member_update(member=member, data=data, by=request.user)
        return self.render(member)

    def destroy(self, request, *args, **kwargs):
        member = self.get_object_for_edit()
        team_member_remove(member=member, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

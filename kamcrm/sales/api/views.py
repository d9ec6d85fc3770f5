"""API of stages, opportunities and the funnel: thin ViewSets over the sales services and selectors.

Access: an opportunity is seen through its account (`org.selectors.visible`, ACCOUNT_PATH
"account__"). A record the user cannot see answers 404 whatever the method; a change to one they may
see but not edit answers 403. Creating one needs edit access to its account. The stage changes only
through `POST /opportunities/{id}/move/`, which checks the stage's exit criteria and the target's
required fields and answers 400 naming the field.

Funnel health rules are business settings, read and maintained (as on their pages) by administrators
and business management only (`sales.health.can_maintain_rules`); anyone else gets 403.
"""
from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.settings import api_settings

from kamcrm.activities.api.serializers import FunnelAlertSerializer
from kamcrm.core.api.views import ApiViewSetMixin
from kamcrm.customers.api.views import (
    EXTERNAL_ID_PARAMS,
    EXTERNAL_ID_PATH,
    VisibleViewSetMixin,
    _require_edit,
    _take_external_id,
)
from kamcrm.sales import selectors, services
from kamcrm.sales.api.serializers import (
    BriefFunnelRuleSerializer,
    BriefOpportunitySerializer,
    BriefStageSerializer,
    FunnelQuerySerializer,
    FunnelRuleSerializer,
    FunnelSerializer,
    OpportunityMoveSerializer,
    OpportunitySerializer,
    StageChangeSerializer,
    StageSerializer,
)
from kamcrm.sales.choices import StageKind
from kamcrm.sales.filtersets import OpportunityFilterSet
from kamcrm.sales.health import can_maintain_rules, funnel_rule_check, funnel_rule_save
from kamcrm.sales.models import FunnelRule, Opportunity, OpportunityLine, Stage

__all__ = ["FunnelRuleViewSet", "FunnelViewSet", "OpportunityViewSet", "StageViewSet"]


class StageViewSet(ApiViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """The stage path (销售阶段), in order. Administrators maintain it in the admin."""

    serializer_class = StageSerializer
    brief_serializer_class = BriefStageSerializer
    filterset_fields = ["kind", "is_active"]
    keyset_order = ["order", "id"]

    def get_queryset(self):
        return Stage.objects.all()


def _stage_from(value: str) -> Stage:
    """A stage named by id or code; a ValidationError on `stage` when there is none."""
    value = (value or "").strip()
    stage = None
    if value.isdigit():
        stage = Stage.objects.filter(pk=int(value)).first()
    if stage is None and value:
        stage = Stage.objects.filter(code=value).first()
    if stage is None:
        raise ValidationError({"stage": _("No stage “%(value)s”; give a stage id or code.") % {"value": value}})
    return stage


class OpportunityViewSet(VisibleViewSetMixin, viewsets.ModelViewSet):
    """Opportunities (商机) of the accounts the user may see, with their product lines, contacts and
    collaborators. Deleting is not offered: close it as lost or abandoned."""

    serializer_class = OpportunitySerializer
    brief_serializer_class = BriefOpportunitySerializer
    filterset_class = OpportunityFilterSet
    keyset_order = selectors.OPPORTUNITY_SORTS["-updated"]
    keyset_sorts = selectors.OPPORTUNITY_SORTS
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    def get_queryset(self):
        qs = selectors.opportunity_queryset(self.request.user, listing=self.action == "list").select_related(
            "account", "owner", "owner_unit", "stage")
        if self.brief:
            return qs
        return qs.prefetch_related(
            Prefetch("lines", queryset=OpportunityLine.objects.select_related("product").order_by("id")),
            "contacts", "collaborators")

    def _data(self, data: dict[str, Any]) -> dict[str, Any]:
        if data.get("probability") is None:
            data.pop("probability", None)
        if "lines" in data:
            data["lines"] = [dict(line) for line in data["lines"]]
        return data

    def create(self, request, *args, **kwargs):
        data = self._data(self.parse())
        data.setdefault("owner", request.user)
        account = data.pop("account")
        _require_edit(request.user, account)  # 403 when the account is visible but not editable
        opportunity = services.opportunity_create_for(user=request.user, account_id=account.pk, **data)
        return self.render(self._fresh(opportunity), status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        opportunity = self.get_object_for_edit()
        data = self._data(self.parse(instance=opportunity, partial=kwargs.get("partial", False)))
        opportunity = services.opportunity_update_for(user=request.user, opportunity_id=opportunity.pk, data=data)
        return self.render(self._fresh(opportunity))

    def _fresh(self, opportunity: Opportunity) -> Opportunity:
        return self.get_queryset().get(pk=opportunity.pk)

    @extend_schema(methods=["GET"], parameters=EXTERNAL_ID_PARAMS, responses=OpportunitySerializer,
                   description="The opportunity with this (source system, external id).")
    @extend_schema(methods=["PUT"], parameters=EXTERNAL_ID_PARAMS, request=OpportunitySerializer,
                   responses={200: OpportunitySerializer, 201: OpportunitySerializer},
                   description="Create (201) or update (200) the opportunity with this (source system, external "
                               "id). The account is named by `account` (id) or `account_external_id` in the same "
                               "source system and must be editable. Fields left out keep their values; the stage "
                               "is set on creation only.")
    @action(detail=False, methods=["get", "put"], url_path=EXTERNAL_ID_PATH, filter_backends=[],
            pagination_class=None)
    def upsert(self, request, source_system: str, external_id: str):
        if request.method == "GET":
            return self.render(self.by_external_id(source_system, external_id))
        with transaction.atomic():
            existing = self.existing_for_edit(Opportunity, source_system, external_id)
            data = self._data(self.parse(instance=existing, partial=existing is not None,
                                         source_system=source_system))
            _take_external_id(data, source_system, external_id)
            if existing is None:
                data.setdefault("owner", request.user)
                account = data.pop("account")
                _require_edit(request.user, account)
                opportunity = services.opportunity_create_for(user=request.user, account_id=account.pk,
                                                              source_system=source_system, external_id=external_id,
                                                              **data)
            else:
                opportunity = services.opportunity_update_for(user=request.user, opportunity_id=existing.pk,
                                                              data=data)
        return self.render(self._fresh(opportunity), status.HTTP_200_OK if existing else status.HTTP_201_CREATED)

    @extend_schema(request=OpportunityMoveSerializer,
                   responses={200: OpportunitySerializer,
                              400: OpenApiResponse(description="The stage is unknown, or an exit criterion or a "
                                                               "required field is missing; `errors` names it."),
                              403: OpenApiResponse(description="Visible but not editable."),
                              404: OpenApiResponse(description="Not found.")},
                   description="Move the opportunity to another stage (by id or code). Moving forwards checks the "
                               "current stage's exit criteria; entering a stage checks its required fields "
                               "(a reason for lost or abandoned). The move is kept in the stage history.")
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def move(self, request, pk=None):
        opportunity = self.get_object_for_edit()
        body = OpportunityMoveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        stage = _stage_from(body.validated_data["stage"])
        opportunity = services.opportunity_move_for(user=request.user, opportunity_id=opportunity.pk,
                                                    stage_id=stage.pk,
                                                    lost_reason=body.validated_data.get("lost_reason"))
        return self.render(self._fresh(opportunity))

    @extend_schema(responses={200: StageChangeSerializer(many=True), 404: OpenApiResponse(description="Not found.")},
                   description="The opportunity's stage history, newest first (at most 200 entries): who moved it, "
                               "when, and the amount, probability and owner at that moment.")
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def history(self, request, pk=None):
        opportunity = self.get_object()
        entries = selectors.opportunity_history(opportunity=opportunity)
        return Response(StageChangeSerializer(entries, many=True, context=self.get_serializer_context()).data)


class FunnelViewSet(viewsets.GenericViewSet):
    """The sales funnel (销售漏斗) of what the user may see."""

    serializer_class = FunnelSerializer
    pagination_class = None
    filter_backends: list = []

    def get_queryset(self):  # for the schema generator only; the funnel reads through its selector
        return Stage.objects.none()

    @extend_schema(
        parameters=[
            OpenApiParameter("unit", OpenApiTypes.INT, description="Only opportunities owned in this unit's subtree."),
            OpenApiParameter("owner", OpenApiTypes.INT, description="Only this owner's opportunities."),
            OpenApiParameter("product_line", OpenApiTypes.INT, description="Only opportunities with a line of it."),
            OpenApiParameter("close_from", OpenApiTypes.DATE, description="Expected close on or after."),
            OpenApiParameter("close_to", OpenApiTypes.DATE, description="Expected close on or before."),
            OpenApiParameter("as_of", OpenApiTypes.DATE,
                             description="The funnel as it stood at the end of this day (from the stage history)."),
        ],
        responses={200: FunnelSerializer, 400: OpenApiResponse(description="A bad parameter; `errors` names it.")},
        description="Per stage: count, amount, weighted amount, how many reached it, the conversion to the next "
                    "stage and the average days in it; with totals of open, won and lost.",
    )
    def list(self, request):
        query = FunnelQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        result = selectors.funnel(user=request.user, unit=q.get("unit"), owner=q.get("owner"),
                                  line_id=q["product_line"].pk if q.get("product_line") else None,
                                  close_from=q.get("close_from"), close_to=q.get("close_to"), as_of=q.get("as_of"))
        rows = [{"stage": r.stage, "label": r.stage.label, "count": r.count, "amount": r.amount,
                 "weighted": r.weighted, "reached": r.reached, "conversion": r.conversion, "avg_days": r.avg_days}
                for r in result.rows]
        totals = {kind: vars(result.total(kind)) for kind in (StageKind.OPEN, StageKind.WON, StageKind.LOST)}
        data = {"as_of": result.as_of, "rows": rows, "totals": {str(k): v for k, v in totals.items()}}
        return Response(FunnelSerializer(data, context={"request": request}).data)



class MaintainsFunnelRules(BasePermission):
    """The funnel rules' pages' rule: administrators and business management (reads too)."""

    message = gettext_lazy("Only administrators and business management maintain the funnel rules.")

    def has_permission(self, request, view):
        return can_maintain_rules(request.user)


RULES_REFUSED = OpenApiResponse(description="Not an administrator or business management.")


@extend_schema_view(
    list=extend_schema(responses={200: FunnelRuleSerializer(many=True), 403: RULES_REFUSED},
                       description="The rules, in the order they were made (keyset pages)."),
    retrieve=extend_schema(responses={200: FunnelRuleSerializer, 403: RULES_REFUSED,
                                      404: OpenApiResponse(description="Not found.")}),
)
class FunnelRuleViewSet(ApiViewSetMixin, viewsets.ModelViewSet):
    """Funnel health rules (漏斗健康规则): checks on a unit's pipeline that raise an alert, at most once
    per period, and give a follow-up task to `task_owner`. Read and maintained by administrators and
    business management only; others get 403. Nothing is deleted: as on the rule's page, switch it off
    with `PATCH {"is_active": false}`."""

    serializer_class = FunnelRuleSerializer
    brief_serializer_class = BriefFunnelRuleSerializer
    permission_classes = [*api_settings.DEFAULT_PERMISSION_CLASSES, MaintainsFunnelRules]
    keyset_order = ["id"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return FunnelRule.objects.select_related("unit", "product_line", "task_owner")

    @extend_schema(responses={201: FunnelRuleSerializer,
                              400: OpenApiResponse(description="A bad field or parameter; `errors` names it."),
                              403: RULES_REFUSED},
                   description="Create a rule. The parameters are checked against the check (`kind`): a parameter "
                               "it does not use, or a value out of range, is a 400 on `params`.")
    def create(self, request, *args, **kwargs):
        rule = funnel_rule_save(data=self.parse(), by=request.user)
        return self.render(self.get_queryset().get(pk=rule.pk), status.HTTP_201_CREATED)

    @extend_schema(responses={200: FunnelRuleSerializer,
                              400: OpenApiResponse(description="A bad field or parameter; `errors` names it."),
                              403: RULES_REFUSED},
                   description="Change a rule; fields left out keep their values (`params` too, checked against "
                               "the new `kind` when that changes). `is_active: false` switches it off.")
    def partial_update(self, request, *args, **kwargs):
        rule = self.get_object()
        data = self.parse(instance=rule, partial=True)
        rule = funnel_rule_save(rule=rule, data=data, by=request.user)
        return self.render(self.get_queryset().get(pk=rule.pk))

    @extend_schema(request=None,
                   responses={200: FunnelAlertSerializer(many=True),
                              403: RULES_REFUSED, 404: OpenApiResponse(description="Not found.")},
                   description="Check the rule now, as the daily run does, and return the alerts it raised: one "
                               "when it fires, none when it does not or already fired in this period (a rule fires "
                               "at most once per period). The alert's task goes to `task_owner`.")
    @action(detail=True, methods=["post"], url_path="check-now", filter_backends=[], pagination_class=None)
    def check_now(self, request, pk=None):
        raised = funnel_rule_check(rule=self.get_object(), by=request.user)
        return Response(FunnelAlertSerializer(raised, many=True, context=self.get_serializer_context()).data)

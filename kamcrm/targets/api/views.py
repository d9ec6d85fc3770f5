"""API of targets (K7): metrics, plans, the plan grid, the writes through targets.services, completion and
the ranking. Thin ViewSets: bodies are parsed by serializers, every rule is the services'.

Access (as the target pages): every signed-in user sees the plans themselves (year, version, status,
reviews); a plan's lines are seen within the user's reach only (`selectors.line_queryset`), and
completion only for subjects the user may see (`selectors.may_see`). A write names a node (a unit or a
person): a node the user may not see answers 404 as any record out of reach; one they see but may not
plan answers 403 (`services.may_plan` on the unit that splits it: a node's own figure belongs to whoever
splits its parent). Submitting a level needs `may_plan` on it, approving or sending back the services'
`may_approve`; a refusal is 403. Creating and revising plans is business management's (403 otherwise).
Everything else the services refuse (a negative month, over-allocation, a submitted or locked plan, a
send-back without a comment) answers 400 with `errors` naming the field.

A write to an approved plan is made on its next version (services), so the writes answer the plan
written: when its id differs from the URL's, a new version was made.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from kamcrm.core.api.views import ApiViewSetMixin
from kamcrm.org.models import OrgUnit, User
from kamcrm.targets import selectors, services
from kamcrm.targets.api.serializers import (
    CompletionQuerySerializer,
    CompletionSerializer,
    DecomposeSerializer,
    GridQuerySerializer,
    GridSerializer,
    MetricSerializer,
    PlanCreateSerializer,
    PlanDetailSerializer,
    PlanSerializer,
    RankingQuerySerializer,
    RankingSerializer,
    RebalanceSerializer,
    ReviewBodySerializer,
    ReviewResultSerializer,
    ReviseSerializer,
    SetSerializer,
)
from kamcrm.targets.models import Metric, TargetLine, TargetPlan, TargetReview

__all__ = ["CompletionViewSet", "MetricViewSet", "PlanViewSet", "RankingViewSet", "completion_row",
           "grid_data", "node_ids", "planner_unit", "root_unit"]

REFUSED = {400: OpenApiResponse(description="Refused by the services (a bad amount, over-allocation, a submitted "
                                            "or locked plan…); `errors` names the field."),
           403: OpenApiResponse(description="You see the node or the plan but may not do this."),
           404: OpenApiResponse(description="Not found, or out of your reach.")}


# ---- helpers shared with the exports ------------------------------------------------------------

def root_unit() -> OrgUnit | None:
    return OrgUnit.objects.filter(parent__isnull=True).order_by("path").first()


def node_ids(key: str) -> tuple[int | None, int | None]:
    """(unit id, person id) of a node key ("u12", "p34", "u12/l5")."""
    base = key.split("/", 1)[0]
    if base.startswith("p"):
        return None, int(base[1:])
    return int(base[1:]), None


def grid_data(*, user: User, plan: TargetPlan, metric: Metric, product_line_id: int | None) -> dict[str, Any]:
    rows = selectors.plan_grid(user=user, plan=plan, metric=metric, product_line_id=product_line_id)
    out = []
    for row in rows:
        unit_id, person_id = node_ids(row.line_node)
        out.append({"node": row.line_node, "unit": unit_id, "person": person_id, "label": row.label,
                    "depth": row.depth, "is_person": row.is_person, "is_unallocated": row.is_unallocated,
                    "months": row.months, "total": row.total, "out_of_balance": row.out_of_balance,
                    "children_sum": row.children_sum})
    return {"plan": plan, "metric": metric, "product_line": product_line_id,
            "out_of_balance": any(r.any_out_of_balance for r in rows), "rows": out}


def subject_data(subject: OrgUnit | User) -> dict[str, Any]:
    return {"kind": "person" if isinstance(subject, User) else "unit", "id": subject.pk, "display": str(subject)}


def completion_row(c: selectors.Completion) -> dict[str, Any]:
    return {"subject": subject_data(c.subject), "metric": c.metric, "start": c.start, "end": c.end,
            "target": c.target, "actual": c.actual, "pipeline": c.pipeline, "gap": c.gap, "ratio": c.ratio,
            "forecast": c.forecast, "forecast_basis": c.forecast_basis,
            "forecast_basis_label": c.forecast_basis_label}


def planner_unit(*, plan: TargetPlan, metric: Metric, node: OrgUnit | User, product_line_id: int | None) -> OrgUnit:
    """The unit whose planner may change `node`'s figures, as services.target_set decides: the parent it
    was split from, else its unit above when that has figures (the node becomes a child), else itself."""
    key = services.node_key(node, product_line_id)
    parent_unit = (TargetLine.objects.filter(plan=plan, metric=metric, node=key, is_unallocated=False,
                                             parent__isnull=False)
                   .values_list("parent__unit_id", flat=True).first())
    if parent_unit is not None:
        return OrgUnit.objects.get(pk=parent_unit)
    own = node.unit if isinstance(node, User) else node
    above = own if isinstance(node, User) else (OrgUnit.objects.filter(pk=node.parent_id).first()
                                                 if node.parent_id else None)
    if above is not None and TargetLine.objects.filter(plan=plan, metric=metric, is_unallocated=False,
                                                       node=services.node_key(above, product_line_id)).exists():
        return above
    return own


def _sees(user: User, node: OrgUnit | User) -> None:
    """404 for a node out of reach (as for any record the user cannot see)."""
    if not selectors.may_see(user, node):
        raise Http404


def _plans(user: User, unit: OrgUnit) -> None:
    if not services.may_plan(user, unit):
        raise PermissionDenied(_("You may not set targets for %(unit)s.") % {"unit": unit})


def _on(value: dt.date | None) -> dt.date:
    return value or timezone.localdate()


# ---- metrics ------------------------------------------------------------------------------------

class MetricViewSet(ApiViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """The metrics targets are set for (指标), in their order. Administrators maintain them in the admin."""

    serializer_class = MetricSerializer
    filterset_fields = ["is_active", "source"]
    keyset_order = ["order", "id"]

    def get_queryset(self):
        return Metric.objects.all()


# ---- plans --------------------------------------------------------------------------------------

class PlanViewSet(ApiViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Target plans (目标计划): one per year and version. Lines are read as a grid per metric and written
    through the actions below, which call the targets services."""

    serializer_class = PlanSerializer
    filterset_fields = ["year", "status"]
    keyset_order = ["-year", "-version", "-id"]

    def get_queryset(self):
        qs = TargetPlan.objects.select_related("created_by", "approved_by")
        if self.action == "retrieve":
            qs = qs.prefetch_related(Prefetch("reviews", queryset=TargetReview.objects.select_related("unit", "by")
                                              .order_by("at", "id")))
        return qs

    def get_serializer_class(self):
        return PlanDetailSerializer if self.action == "retrieve" else PlanSerializer

    def _plan(self, plan: TargetPlan, code: int = status.HTTP_200_OK) -> Response:
        fresh = TargetPlan.objects.select_related("created_by", "approved_by").get(pk=plan.pk)
        return Response(PlanSerializer(fresh, context=self.get_serializer_context()).data, status=code)

    def _body(self, serializer_class) -> dict[str, Any]:  # noqa: ANN001
        body = serializer_class(data=self.request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        return dict(body.validated_data)

    def _plans_everything(self) -> None:
        if not services.may_create_plans(self.request.user):
            raise PermissionDenied(_("Only business management creates and revises target plans."))

    @extend_schema(request=PlanCreateSerializer, responses={201: PlanSerializer, **REFUSED},
                   description="A new draft plan for `year` (version 1, or the year's next version). Business "
                               "management, executives and administrators only.")
    def create(self, request, *args, **kwargs):
        self._plans_everything()
        body = self._body(PlanCreateSerializer)
        plan = services.plan_create(year=body["year"], name=body["name"], by=request.user)
        return self._plan(plan, status.HTTP_201_CREATED)

    @extend_schema(request=ReviseSerializer, responses={201: PlanSerializer, **REFUSED},
                   description="Copy an approved plan into its next version (a draft, every line with it); the "
                               "approved version stays locked as it was.")
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def revise(self, request, pk=None):
        plan = self.get_object()
        self._plans_everything()
        body = self._body(ReviseSerializer)
        new = services.plan_revise(plan=plan, by=request.user, name=body["name"])
        return self._plan(new, status.HTTP_201_CREATED)

    @extend_schema(parameters=[GridQuerySerializer],
                   responses={200: GridSerializer, 400: OpenApiResponse(description="A bad parameter."),
                              404: OpenApiResponse(description="Not found.")},
                   description="One metric of the plan: units down (each followed by its people and its "
                               "unallocated row), January to December across, with the children + unallocated "
                               "sum of every split row and its out-of-balance flags; only the rows within your "
                               "reach. The same few queries however large the plan.")
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def grid(self, request, pk=None):
        plan = self.get_object()
        query = GridQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        metric = query.validated_data.get("metric") or selectors.metric_list().first()
        if metric is None:
            raise Http404
        line = query.validated_data.get("product_line")
        data = grid_data(user=request.user, plan=plan, metric=metric, product_line_id=line.pk if line else None)
        return Response(GridSerializer(data, context=self.get_serializer_context()).data)

    @extend_schema(request=SetSerializer, responses={200: PlanSerializer, **REFUSED},
                   description="Set a node's targets: twelve months (a list) or some months ({month: amount}). The "
                               "top node is set directly; a node below is re-split from its parent (the parent's "
                               "unallocated takes the difference; over-allocating is refused, naming the month). "
                               "A split node that no longer adds up is flagged out of balance.")
    @action(detail=True, methods=["post"], url_path="set", filter_backends=[], pagination_class=None)
    def set_targets(self, request, pk=None):
        plan = self.get_object()
        body = self._body(SetSerializer)
        node, metric, line = body["node"], body["metric"], body.get("product_line")
        line_id = line.pk if line else None
        _sees(request.user, node)
        _plans(request.user, planner_unit(plan=plan, metric=metric, node=node, product_line_id=line_id))
        written = services.target_set(plan=plan, metric=metric, node=node, amounts=body["amounts"],
                                      product_line_id=line_id, by=request.user)
        return self._plan(written)

    @extend_schema(request=DecomposeSerializer, responses={200: PlanSerializer, **REFUSED},
                   description="Split a unit's targets onto the units directly below it or its people: explicit "
                               "`children` amounts, or `shares` (each part rounded down to the cent, or to 1 for "
                               "counts; the remainder stays unallocated). Unallocated becomes parent − children "
                               "in every month; children exceeding the parent are refused.")
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def decompose(self, request, pk=None):
        plan = self.get_object()
        body = self._body(DecomposeSerializer)
        parent, metric, line = body["parent"], body["metric"], body.get("product_line")
        _sees(request.user, parent)
        _plans(request.user, parent)
        line_id = line.pk if line else None
        if body.get("children"):
            children = {c["node"]: c["amounts"] for c in body["children"]}
            written = services.target_decompose(plan=plan, metric=metric, parent=parent, children=children,
                                                product_line_id=line_id, by=request.user)
        else:
            shares = {c["node"]: c["share"] for c in body["shares"]}
            written = services.target_decompose_by_shares(plan=plan, metric=metric, parent=parent, shares=shares,
                                                          product_line_id=line_id, by=request.user)
        return self._plan(written)

    @extend_schema(request=RebalanceSerializer, responses={200: PlanSerializer, **REFUSED},
                   description="Make every out-of-balance line in scope add up again, top down: `unallocated` "
                               "puts the difference into unallocated (refused where the children exceed the "
                               "parent); `shares` re-splits in proportion to the current split.")
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def rebalance(self, request, pk=None):
        plan = self.get_object()
        body = self._body(RebalanceSerializer)
        unit = body.get("unit")
        if unit is not None:
            _sees(request.user, unit)
        scope = unit or root_unit()
        if scope is not None:
            _plans(request.user, scope)
        written = services.target_rebalance(plan=plan, metric=body.get("metric"), unit=unit, mode=body["mode"],
                                            by=request.user)
        return self._plan(written)

    def _review(self, call, *, check) -> Response:  # noqa: ANN001
        plan = self.get_object()
        body = self._body(ReviewBodySerializer)
        unit = body.get("unit") or root_unit()
        if unit is None:
            raise DjangoValidationError({"unit": _("The organisation has no top unit yet.")})
        check(unit)
        review = call(plan=plan, unit=unit, comment=body["comment"], by=self.request.user)
        data = {"plan": TargetPlan.objects.select_related("created_by", "approved_by").get(pk=plan.pk),
                "review": TargetReview.objects.select_related("unit", "by").get(pk=review.pk)}
        return Response(ReviewResultSerializer(data, context=self.get_serializer_context()).data)

    def _may_review(self, unit: OrgUnit) -> None:
        if not services.may_approve(self.request.user, unit):
            raise PermissionDenied(_("You may not review the targets of %(unit)s.") % {"unit": unit})

    @extend_schema(request=ReviewBodySerializer, responses={200: ReviewResultSerializer, **REFUSED},
                   description="Submit the split below `unit` (default: the company, the whole plan) for approval; "
                               "refused while anything in scope is out of balance.")
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def submit(self, request, pk=None):
        return self._review(services.plan_submit, check=lambda unit: _plans(request.user, unit))

    @extend_schema(request=ReviewBodySerializer, responses={200: ReviewResultSerializer, **REFUSED},
                   description="Approve the split below `unit`; at the company level (the default) the plan becomes "
                               "approved and locked. The company level is business management's or an "
                               "executive's; a unit's, whoever plans the unit above it.")
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def approve(self, request, pk=None):
        return self._review(services.plan_approve, check=self._may_review)

    @extend_schema(request=ReviewBodySerializer, responses={200: ReviewResultSerializer, **REFUSED},
                   description="Send the split below `unit` back, with a `comment` saying why (required); the plan "
                               "becomes editable again.")
    @action(detail=True, methods=["post"], url_path="send-back", filter_backends=[], pagination_class=None)
    def send_back(self, request, pk=None):
        return self._review(services.plan_send_back, check=self._may_review)


# ---- completion ---------------------------------------------------------------------------------

class CompletionViewSet(viewsets.GenericViewSet):
    """Target completion (目标完成) of yourself, a unit (the top unit is the company) or a person."""

    serializer_class = CompletionSerializer
    pagination_class = None
    filter_backends: list = []

    def get_queryset(self):  # for the schema generator only; completion reads through its selectors
        return TargetPlan.objects.none()

    @extend_schema(parameters=[CompletionQuerySerializer],
                   responses={200: CompletionSerializer,
                              400: OpenApiResponse(description="A bad parameter; `errors` names it."),
                              404: OpenApiResponse(description="The unit or person is out of your reach.")},
                   description="Per metric (or the one `metric`): the target of the month, quarter or year that "
                               "contains `on`, the actual to `on`, the weighted pipeline, the gap and the month's "
                               "forecast, against the plan in force (the latest approved version of the year, "
                               "else the latest).")
    def list(self, request):
        query = CompletionQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        subject = q.get(q["subject"]) if q["subject"] != "me" else request.user
        on = _on(q.get("on"))
        plan = selectors.plan_in_force(year=on.year)
        metrics = [q["metric"]] if q.get("metric") else list(selectors.metric_list())
        rows = [completion_row(selectors.completion(user=request.user, metric=m, subject=subject, on=on,
                                                    period=q["period"], plan=plan)) for m in metrics]
        data = {"subject": subject_data(subject), "period": q["period"], "on": on, "plan": plan, "rows": rows}
        return Response(CompletionSerializer(data, context={"request": request}).data)


class RankingViewSet(viewsets.GenericViewSet):
    """The units directly below a unit and its people, ranked by completion of one metric."""

    serializer_class = RankingSerializer
    pagination_class = None
    filter_backends: list = []

    def get_queryset(self):  # for the schema generator only
        return TargetPlan.objects.none()

    @extend_schema(parameters=[RankingQuerySerializer],
                   responses={200: RankingSerializer,
                              400: OpenApiResponse(description="A bad parameter; `errors` names it."),
                              404: OpenApiResponse(description="The unit is out of your reach.")},
                   description="Actual ÷ target, highest first (those without a target last), for the units "
                               "directly below `unit` and its people that you may see.")
    def list(self, request):
        query = RankingQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        metric = q.get("metric") or selectors.metric_list().first()
        if metric is None:
            raise Http404
        on = _on(q.get("on"))
        plan = selectors.plan_in_force(year=on.year)
        ranking = selectors.completion_ranking(user=request.user, metric=metric, unit=q["unit"], on=on,
                                               period=q["period"], plan=plan)
        data = {"unit": q["unit"], "metric": metric, "period": q["period"], "on": on, "plan": plan,
                "units": [completion_row(c) for c in ranking["units"]],
                "people": [completion_row(c) for c in ranking["people"]]}
        return Response(RankingSerializer(data, context={"request": request}).data)

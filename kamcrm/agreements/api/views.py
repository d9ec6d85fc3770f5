"""API of agreements (with their lines, changes and revenue schedule) and orders: thin ViewSets over the
agreements services and selectors.

Access: an agreement or an order is seen through its account (`org.selectors.visible`, ACCOUNT_PATH
"account__"). A record the user cannot see answers 404 whatever the method; a change to one they may
see but not edit answers 403. Creating one needs edit access to its account. A draft is edited with
PUT/PATCH; once signed, an agreement changes only through its actions (`amend`, `suspend`, `resume`,
`terminate`, `renew`), each effective from a date, and a refusal answers 400 naming the field.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Prefetch
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import MethodNotAllowed
from rest_framework.response import Response

from kamcrm.agreements import selectors, services
from kamcrm.agreements.api.serializers import (
    AgreementChangeSerializer,
    AgreementLineSerializer,
    AgreementSerializer,
    AmendSerializer,
    BriefAgreementSerializer,
    BriefOrderSerializer,
    DeliverSerializer,
    EffectiveSerializer,
    OrderSerializer,
    RecognitionSerializer,
    RenewSerializer,
    ScheduleSerializer,
    SignSerializer,
)
from kamcrm.agreements.filtersets import AgreementFilterSet
from kamcrm.agreements.forms import parse_moment
from kamcrm.agreements.models import Agreement, AgreementLine, Order, OrderLine
from kamcrm.customers.api.views import (
    EXTERNAL_ID_PARAMS,
    EXTERNAL_ID_PATH,
    VisibleViewSetMixin,
    _require_edit,
    _take_external_id,
)
from kamcrm.org.selectors import VIEW, visible

__all__ = ["AgreementViewSet", "OrderViewSet"]

REFUSED = {400: OpenApiResponse(description="Refused (wrong status, a date outside the agreement, a value below "
                                            "what is already scheduled…); `errors` names the field."),
           403: OpenApiResponse(description="Visible but not editable."),
           404: OpenApiResponse(description="Not found.")}


def _lines(data: dict[str, Any], key: str = "lines") -> None:
    if data.get(key) is not None:
        data[key] = [dict(line) for line in data[key]]


class AgreementViewSet(VisibleViewSetMixin, viewsets.ModelViewSet):
    """Agreements (协议) of the accounts the user may see, with their lines (协议明细). Deleting is not
    offered: terminate a signed agreement; a draft that is not pursued can stay a draft."""

    serializer_class = AgreementSerializer
    brief_serializer_class = BriefAgreementSerializer
    filterset_class = AgreementFilterSet
    keyset_order = selectors.AGREEMENT_SORTS["-start"]
    keyset_sorts = selectors.AGREEMENT_SORTS
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    def get_queryset(self):
        qs = selectors.agreement_queryset(self.request.user).select_related(
            "account", "owner", "signing_unit", "opportunity", "renews")
        if self.brief:
            return qs
        return qs.prefetch_related(
            Prefetch("lines", queryset=AgreementLine.objects.select_related("product").order_by("id")))

    def _fresh(self, agreement: Agreement) -> Agreement:
        return self.get_queryset().get(pk=agreement.pk)

    def create(self, request, *args, **kwargs):
        data = self.parse()
        _lines(data)
        data.setdefault("owner", request.user)
        account = data.pop("account")
        _require_edit(request.user, account)  # 403 when the account is visible but not editable
        agreement = services.agreement_create_for(user=request.user, account_id=account.pk, **data)
        return self.render(self._fresh(agreement), status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        agreement = self.get_object_for_edit()
        data = self.parse(instance=agreement, partial=kwargs.get("partial", False))
        _lines(data)
        data.pop("account", None)  # an agreement stays with its account
        agreement = services.agreement_update_for(user=request.user, agreement_id=agreement.pk, data=data)
        return self.render(self._fresh(agreement))

    @extend_schema(methods=["GET"], parameters=EXTERNAL_ID_PARAMS, responses=AgreementSerializer,
                   description="The agreement with this (source system, external id).")
    @extend_schema(methods=["PUT"], parameters=EXTERNAL_ID_PARAMS, request=AgreementSerializer,
                   responses={200: AgreementSerializer, 201: AgreementSerializer},
                   description="Create (201, a draft) or update (200, while it is a draft) the agreement with this "
                               "(source system, external id). The account is named by `account` (id) or "
                               "`account_external_id` in the same source system and must be editable. Fields left "
                               "out keep their values; `lines`, when given, replace the draft's lines.")
    @action(detail=False, methods=["get", "put"], url_path=EXTERNAL_ID_PATH, filter_backends=[],
            pagination_class=None)
    def upsert(self, request, source_system: str, external_id: str):
        if request.method == "GET":
            return self.render(self.by_external_id(source_system, external_id))
        with transaction.atomic():
            existing = self.existing_for_edit(Agreement, source_system, external_id)
            data = self.parse(instance=existing, partial=existing is not None, source_system=source_system)
            _lines(data)
            _take_external_id(data, source_system, external_id)
            if existing is None:
                data.setdefault("owner", request.user)
                account = data.pop("account")
                _require_edit(request.user, account)
                agreement = services.agreement_create_for(user=request.user, account_id=account.pk,
                                                          source_system=source_system, external_id=external_id,
                                                          **data)
            else:
                data.pop("account", None)
                agreement = services.agreement_update_for(user=request.user, agreement_id=existing.pk, data=data)
        return self.render(self._fresh(agreement), status.HTTP_200_OK if existing else status.HTTP_201_CREATED)

    # ---- actions --------------------------------------------------------------------------------

    def _act(self, body_class: type[serializers.Serializer] | None, call) -> Response:  # noqa: ANN001
        agreement = self.get_object_for_edit()
        values: dict[str, Any] = {}
        if body_class is not None:
            body = body_class(data=self.request.data, context=self.get_serializer_context())
            body.is_valid(raise_exception=True)
            values = dict(body.validated_data)
        call(agreement.pk, values)
        return self.render(self._fresh(agreement))

    @extend_schema(request=None, responses={200: AgreementSerializer, **REFUSED},
                   description="Submit a draft for approval (it needs at least one line).")
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def submit(self, request, pk=None):
        return self._act(None, lambda pk_, v: services.agreement_submit_for(user=request.user, agreement_id=pk_))

    @extend_schema(request=SignSerializer, responses={200: AgreementSerializer, **REFUSED},
                   description="Sign a draft (or one in approval): every line gets its first revenue schedule.")
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def sign(self, request, pk=None):
        return self._act(SignSerializer, lambda pk_, v: services.agreement_sign_for(
            user=request.user, agreement_id=pk_, signed_on=v.get("signed_on")))

    @extend_schema(request=AmendSerializer, responses={200: AgreementSerializer, **REFUSED},
                   description="Amend a signed or active agreement from `effective`: change lines (new value, end, "
                               "rule…), add lines, end lines, move the agreement's end. The months before the "
                               "effective date's month keep their figures; the prior schedule stays readable with "
                               "`schedule/?as_of=`.")
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def amend(self, request, pk=None):
        def call(pk_: int, v: dict[str, Any]) -> None:
            _lines(v)
            _lines(v, "add")
            services.agreement_amend_for(user=request.user, agreement_id=pk_, effective=v["effective"],
                                         lines=v.get("lines"), add=v.get("add"), remove=v.get("remove"),
                                         end_date=v.get("end_date"), note=v.get("note") or "")
        return self._act(AmendSerializer, call)

    @extend_schema(request=EffectiveSerializer, responses={200: AgreementSerializer, **REFUSED},
                   description="Suspend: no revenue from `effective` on (the lines keep their ends, for a resumption).")
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def suspend(self, request, pk=None):
        return self._act(EffectiveSerializer, lambda pk_, v: services.agreement_suspend_for(
            user=request.user, agreement_id=pk_, effective=v["effective"], note=v.get("note") or ""))

    @extend_schema(request=EffectiveSerializer, responses={200: AgreementSerializer, **REFUSED},
                   description="Resume a suspended agreement from `effective`, at the rate it had before.")
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def resume(self, request, pk=None):
        return self._act(EffectiveSerializer, lambda pk_, v: services.agreement_resume_for(
            user=request.user, agreement_id=pk_, effective=v["effective"], note=v.get("note") or ""))

    @extend_schema(request=EffectiveSerializer, responses={200: AgreementSerializer, **REFUSED},
                   description="Terminate early: every line ends the day before `effective`, keeping what its "
                               "schedule gave until then.")
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def terminate(self, request, pk=None):
        return self._act(EffectiveSerializer, lambda pk_, v: services.agreement_terminate_for(
            user=request.user, agreement_id=pk_, effective=v["effective"], note=v.get("note") or ""))

    @extend_schema(request=RenewSerializer, responses={201: AgreementSerializer, **REFUSED},
                   description="Renew: a new draft agreement that renews this one (its lines at the same value per "
                               "month). Signing the renewal marks this one renewed. Answers the renewal.")
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def renew(self, request, pk=None):
        agreement = self.get_object_for_edit()
        body = RenewSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        renewal = services.agreement_renew_for(user=request.user, agreement_id=agreement.pk, **body.validated_data)
        return self.render(self._fresh(renewal), status.HTTP_201_CREATED)

    # ---- reads of one agreement -------------------------------------------------------------------

    @extend_schema(responses={200: AgreementLineSerializer(many=True), 404: OpenApiResponse(description="Not found.")},
                   description="The agreement's lines, with their current value and version.")
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def lines(self, request, pk=None):
        agreement = self.get_object()
        rows = selectors.agreement_lines(agreement=agreement)
        return Response(AgreementLineSerializer(rows, many=True, context=self.get_serializer_context()).data)

    @extend_schema(responses={200: AgreementChangeSerializer(many=True), 404: OpenApiResponse(description="Not found.")},
                   description="The agreement's changes (signing, amendments, suspensions…), newest first.")
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def changes(self, request, pk=None):
        agreement = self.get_object()
        rows = selectors.agreement_changes(agreement=agreement)
        return Response(AgreementChangeSerializer(rows, many=True, context=self.get_serializer_context()).data)

    @extend_schema(parameters=[OpenApiParameter("as_of", OpenApiTypes.STR, description=(
                       "A date (the end of that day) or an ISO date-time: the schedule as it stood then. "
                       "Empty: the current schedule."))],
                   responses={200: ScheduleSerializer, 400: OpenApiResponse(description="A bad `as_of`."),
                              404: OpenApiResponse(description="Not found.")},
                   description="The revenue schedule (收入计划): lines down, months across, with the totals per month.")
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def schedule(self, request, pk=None):
        agreement = self.get_object()
        try:
            at = parse_moment(request.query_params.get("as_of"))
        except (TypeError, ValueError):
            raise serializers.ValidationError(
                {"as_of": [_("Enter a date (YYYY-MM-DD) or a date and time.")]}) from None
        grid = selectors.schedule_grid(agreement=agreement, at=at)
        data = {
            "as_of": at, "months": [m.strftime("%Y-%m") for m in grid.months], "totals": grid.totals,
            "total": grid.total,
            "lines": [{"line": line.pk, "product": line.product, "amounts": cells,
                       "total": sum((c for c in cells if c is not None), Decimal("0"))} for line, cells in grid.rows],
            "billed": grid.billed, "recognised": grid.recognised,
        }
        return Response(ScheduleSerializer(data, context=self.get_serializer_context()).data)

    @extend_schema(methods=["GET"], responses={200: RecognitionSerializer(many=True),
                                               404: OpenApiResponse(description="Not found.")},
                   description="Recognised revenue (as finance reports it) per line and month.")
    @extend_schema(methods=["POST"], request=RecognitionSerializer,
                   responses={200: RecognitionSerializer(many=True), **REFUSED},
                   description="Record the recognised revenue of one line for one month (replacing the month's "
                               "figure; 0 removes it). Needs edit rights on the agreement. Answers the list.")
    @action(detail=True, methods=["get", "post"], filter_backends=[], pagination_class=None)
    def recognised(self, request, pk=None):
        if request.method == "POST":
            agreement = self.get_object_for_edit()
            body = RecognitionSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            values = body.validated_data
            services.revenue_recognise_for(user=request.user, agreement_id=agreement.pk, line_id=values["line"],
                                           month=values["month"], amount=values["amount"])
        else:
            agreement = self.get_object()
        rows = selectors.agreement_recognitions(agreement=agreement)
        return Response(RecognitionSerializer([{"line": r.line_id, "month": r.month, "amount": r.amount,
                                                "recorded_at": r.recorded_at} for r in rows], many=True).data)


class OrderViewSet(VisibleViewSetMixin, viewsets.ModelViewSet):
    """Orders (订单) of the accounts the user may see, optionally against an agreement. Deliveries are
    recorded with `POST /orders/{id}/deliver/`; the order's status follows."""

    serializer_class = OrderSerializer
    brief_serializer_class = BriefOrderSerializer
    filterset_fields = ["account", "agreement", "status"]
    keyset_order = ["-ordered_on", "-id"]
    http_method_names = ["get", "post", "put", "head", "options"]

    def get_queryset(self):
        qs = visible(Order.objects.all(), self.request.user, VIEW).select_related("account", "agreement", "owner")
        if self.brief:
            return qs
        return qs.prefetch_related(Prefetch("lines", queryset=OrderLine.objects.select_related("product")
                                            .order_by("id")))

    def _data(self, data: dict[str, Any]) -> dict[str, Any]:
        _lines(data)
        agreement = data.pop("agreement", None)
        data["agreement_id"] = agreement.pk if agreement is not None else None
        return data

    def create(self, request, *args, **kwargs):
        data = self._data(self.parse())
        data.setdefault("owner", request.user)
        account = data.pop("account")
        _require_edit(request.user, account)
        order = services.order_create_for(user=request.user, account_id=account.pk, **data)
        return self.render(self.get_queryset().get(pk=order.pk), status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        raise MethodNotAllowed(request.method, detail=_("An order is not edited; record deliveries with "
                                                        "POST /orders/{id}/deliver/."))

    @extend_schema(methods=["GET"], parameters=EXTERNAL_ID_PARAMS, responses=OrderSerializer,
                   description="The order with this (source system, external id).")
    @extend_schema(methods=["PUT"], parameters=EXTERNAL_ID_PARAMS, request=OrderSerializer,
                   responses={200: OrderSerializer, 201: OrderSerializer},
                   description="Create (201) the order with this (source system, external id), or answer the "
                               "existing one unchanged (200): sending the same order twice records it once.")
    @action(detail=False, methods=["get", "put"], url_path=EXTERNAL_ID_PATH, filter_backends=[],
            pagination_class=None)
    def upsert(self, request, source_system: str, external_id: str):
        if request.method == "GET":
            return self.render(self.by_external_id(source_system, external_id))
        with transaction.atomic():
            existing = self.existing_for_edit(Order, source_system, external_id)
            if existing is not None:
                return self.render(self.get_queryset().get(pk=existing.pk))
            data = self._data(self.parse(source_system=source_system))
            _take_external_id(data, source_system, external_id)
            data.setdefault("owner", request.user)
            account = data.pop("account")
            _require_edit(request.user, account)
            order = services.order_create_for(user=request.user, account_id=account.pk,
                                              source_system=source_system, external_id=external_id, **data)
        return self.render(self.get_queryset().get(pk=order.pk), status.HTTP_201_CREATED)

    @extend_schema(request=DeliverSerializer, responses={200: OrderSerializer, **REFUSED},
                   description="Record the delivery of `quantity` more on one line of the order.")
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def deliver(self, request, pk=None):
        order = self.get_object_for_edit()
        body = DeliverSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.order_deliver_for(user=request.user, order_id=order.pk, line_id=body.validated_data["line"],
                                   quantity=body.validated_data["quantity"])
        return self.render(self.get_queryset().get(pk=order.pk))

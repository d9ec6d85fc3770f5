"""API of tasks, visits, sales plans and funnel health alerts (thin ViewSets over the services).

Tasks: the caller's and their reports' (activities.selectors.task_queryset). Visits and sales plans
hang off accounts: read through `visible`, written with edit access to the account (403 when seen but
read-only, 404 when not seen). Alerts: as on the alerts page (sales.selectors.alert_queryset).
"""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action

from kamcrm.activities import services
from kamcrm.activities.api.serializers import (
    FunnelAlertSerializer,
    SalesPlanSerializer,
    TaskSerializer,
    TaskStatusSerializer,
    VisitRecordSerializer,
    VisitSerializer,
)
from kamcrm.activities.selectors import sales_plan_queryset, task_queryset, visit_queryset
from kamcrm.core.api.views import ApiViewSetMixin
from kamcrm.customers.api.views import _require_edit
from kamcrm.customers.models import Account
from kamcrm.org.selectors import get_visible_or_404
from kamcrm.sales.selectors import alert_queryset

__all__ = ["FunnelAlertViewSet", "SalesPlanViewSet", "TaskViewSet", "VisitViewSet"]


def _account_for_edit(user, account: Account) -> Account:  # noqa: ANN001
    get_visible_or_404(Account.objects.all(), user, pk=account.pk)  # 404 when not seen
    _require_edit(user, account)  # 403 when seen but read-only
    return account


class TaskViewSet(ApiViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                  viewsets.GenericViewSet):
    serializer_class = TaskSerializer
    filterset_fields = ["status", "assignee", "account", "opportunity", "source"]
    keyset_order = ["due_on", "id"]

    def get_queryset(self):
        return task_queryset(self.request.user)

    def create(self, request, *args, **kwargs):
        data = self.parse()
        if data.get("account") is not None:
            _account_for_edit(request.user, data["account"])
        task = services.task_create(by=request.user, **data)
        return self.render(task, status.HTTP_201_CREATED)

    @extend_schema(request=TaskStatusSerializer, responses=TaskSerializer)
    @action(detail=True, methods=["post"], url_path="status")
    def set_status(self, request, pk=None):
        task = self.get_object()
        body = TaskStatusSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self.render(services.task_set_status(task=task, status=body.validated_data["status"], by=request.user))


class VisitViewSet(ApiViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                   viewsets.GenericViewSet):
    serializer_class = VisitSerializer
    filterset_fields = ["owner", "account", "status", "opportunity"]
    keyset_order = ["starts_at", "id"]

    def get_queryset(self):
        return visit_queryset(self.request.user).prefetch_related("contacts")

    def create(self, request, *args, **kwargs):
        data = self.parse()
        account = _account_for_edit(request.user, data.pop("account"))
        visit = services.visit_plan(account=account, by=request.user, **data)
        return self.render(visit, status.HTTP_201_CREATED)

    @extend_schema(request=VisitRecordSerializer, responses=VisitSerializer)
    @action(detail=True, methods=["post"])
    def record(self, request, pk=None):
        visit = self.get_object()
        _require_edit(request.user, visit)
        body = VisitRecordSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self.render(services.visit_record(visit=visit, by=request.user, **body.validated_data))

    @extend_schema(request=None, responses=VisitSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        visit = self.get_object()
        _require_edit(request.user, visit)
        return self.render(services.visit_cancel(visit=visit, by=request.user))


class SalesPlanViewSet(ApiViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                       mixins.UpdateModelMixin, viewsets.GenericViewSet):
    serializer_class = SalesPlanSerializer
    filterset_fields = ["owner", "account", "status", "opportunity"]
    keyset_order = ["deadline", "id"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return sales_plan_queryset(self.request.user).prefetch_related("helpers", "products")

    def create(self, request, *args, **kwargs):
        data = self.parse()
        account = _account_for_edit(request.user, data.pop("account"))
        plan = services.sales_plan_create(account=account, by=request.user, **data)
        return self.render(plan, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        plan = self.get_object()
        _require_edit(request.user, plan)
        data = self.parse(instance=plan, partial=True)
        data.pop("account", None)
        return self.render(services.sales_plan_update(plan=plan, data=data, by=request.user))


class FunnelAlertViewSet(ApiViewSetMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = FunnelAlertSerializer
    keyset_order = ["-raised_at", "-id"]

    def get_queryset(self):
        return alert_queryset(self.request.user)

"""API of invoices, payments and the receivables reports: thin ViewSets over the receivables services
and selectors.

Access: invoices and payments are seen through their account (`org.selectors.visible`, ACCOUNT_PATH
"account__"). A record the user cannot see answers 404 whatever the method; a change to one they may
see but not edit answers 403; creating one needs edit access to its account. An invoice's paid
amount, status and settled-on date follow from the payments allocated to it and are never written
directly; an invoice is voided through `POST /invoices/{id}/void/`. Reports cover what the user may see.
"""
from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from kamcrm.customers.api.views import (
    EXTERNAL_ID_PARAMS,
    EXTERNAL_ID_PATH,
    VisibleViewSetMixin,
    _require_edit,
    _take_external_id,
)
from kamcrm.receivables import selectors, services
from kamcrm.receivables.api.serializers import (
    AgingQuerySerializer,
    AgingSerializer,
    BalanceQuerySerializer,
    BalanceRowSerializer,
    BriefInvoiceSerializer,
    BriefPaymentSerializer,
    DsoQuerySerializer,
    DsoSerializer,
    InvoiceSerializer,
    PaidLateSerializer,
    PaymentAllocateSerializer,
    PaymentSerializer,
)
from kamcrm.receivables.filtersets import InvoiceFilterSet, PaymentFilterSet
from kamcrm.receivables.models import Invoice, Payment, PaymentAllocation

__all__ = ["InvoiceViewSet", "PaymentViewSet", "ReceivablesViewSet"]

INVOICE_WRITE = ("number", "invoice_date", "due_date", "amount", "tax", "currency", "disputed", "agreement",
                 "product_line")


def _invoice_data(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k in INVOICE_WRITE}


class InvoiceViewSet(VisibleViewSetMixin, viewsets.ModelViewSet):
    """Invoices (发票) of the accounts the user may see, with the payments allocated to them. Deleting
    is not offered: void an unpaid invoice instead."""

    serializer_class = InvoiceSerializer
    brief_serializer_class = BriefInvoiceSerializer
    filterset_class = InvoiceFilterSet
    keyset_order = selectors.INVOICE_SORTS["-date"]
    keyset_sorts = selectors.INVOICE_SORTS
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    def get_queryset(self):
        qs = selectors.invoice_queryset(self.request.user).select_related("account", "product_line")
        if self.brief:
            return qs
        return qs.prefetch_related(Prefetch("allocations", queryset=PaymentAllocation.objects.select_related(
            "payment").order_by("payment__received_on", "id")))

    def _fresh(self, invoice: Invoice) -> Invoice:
        return self.get_queryset().get(pk=invoice.pk)

    def create(self, request, *args, **kwargs):
        data = self.parse()
        account = data.pop("account")
        _require_edit(request.user, account)  # 403 when the account is visible but not editable
        invoice = services.invoice_create(by=request.user, account=account,
                                          source_system=data.get("source_system", ""),
                                          external_id=data.get("external_id", ""), **_invoice_data(data))
        return self.render(self._fresh(invoice), status.HTTP_201_CREATED)

    def _update(self, invoice: Invoice, data: dict[str, Any]) -> Invoice:
        account = data.pop("account", None)
        if account is not None and account.pk != invoice.account_id:
            raise ValidationError({"account": _("An invoice stays with its account; void it and issue a new one "
                                                "instead.")})
        for name in ("source_system", "external_id"):
            if name in data and data[name] != getattr(invoice, name):
                raise ValidationError({name: _("Use the upsert address to give an invoice another external id.")})
        return services.invoice_update(invoice=invoice, data=_invoice_data(data), by=self.request.user)

    def update(self, request, *args, **kwargs):
        invoice = self.get_object_for_edit()
        data = self.parse(instance=invoice, partial=kwargs.get("partial", False))
        return self.render(self._fresh(self._update(invoice, data)))

    @extend_schema(methods=["GET"], parameters=EXTERNAL_ID_PARAMS, responses=InvoiceSerializer,
                   description="The invoice with this (source system, external id).")
    @extend_schema(methods=["PUT"], parameters=EXTERNAL_ID_PARAMS, request=InvoiceSerializer,
                   responses={200: InvoiceSerializer, 201: InvoiceSerializer},
                   description="Create (201) or update (200) the invoice with this (source system, external id). "
                               "The account is named by `account` (id) or `account_external_id` in the same source "
                               "system and must be editable; it never changes. Fields left out keep their values; "
                               "sending the same body again changes nothing.")
    @action(detail=False, methods=["get", "put"], url_path=EXTERNAL_ID_PATH, filter_backends=[],
            pagination_class=None)
    def upsert(self, request, source_system: str, external_id: str):
        if request.method == "GET":
            return self.render(self.by_external_id(source_system, external_id))
        with transaction.atomic():
            existing = self.existing_for_edit(Invoice, source_system, external_id)
            data = self.parse(instance=existing, partial=existing is not None, source_system=source_system)
            _take_external_id(data, source_system, external_id)
            if existing is None:
                account = data.pop("account")
                _require_edit(request.user, account)
                invoice = services.invoice_create(by=request.user, account=account, source_system=source_system,
                                                  external_id=external_id, **_invoice_data(data))
            else:
                invoice = self._update(existing, data)
        return self.render(self._fresh(invoice), status.HTTP_200_OK if existing else status.HTTP_201_CREATED)

    @extend_schema(request=None,
                   responses={200: InvoiceSerializer,
                              400: OpenApiResponse(description="Payments are allocated to it; `errors` says so."),
                              403: OpenApiResponse(description="Visible but not editable."),
                              404: OpenApiResponse(description="Not found.")},
                   description="Void the invoice (it then bills nothing). Refused while payments are allocated to "
                               "it. Voiding a void invoice changes nothing.")
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def void(self, request, pk=None):
        invoice = self.get_object_for_edit()
        return self.render(self._fresh(services.invoice_void(invoice=invoice, by=request.user)))


class PaymentViewSet(VisibleViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                     viewsets.GenericViewSet):
    """Payments (回款) received from the accounts the user may see, and the invoices they pay. A payment
    is recorded once and not changed; its unallocated part (an advance) can be allocated later."""

    serializer_class = PaymentSerializer
    brief_serializer_class = BriefPaymentSerializer
    filterset_class = PaymentFilterSet
    keyset_order = selectors.PAYMENT_SORTS["-date"]
    keyset_sorts = selectors.PAYMENT_SORTS

    def get_queryset(self):
        qs = selectors.payment_queryset(self.request.user).select_related("account")
        if self.brief:
            return qs
        return qs.prefetch_related(Prefetch("allocations", queryset=PaymentAllocation.objects.select_related(
            "invoice").order_by("invoice__due_date", "id")))

    def _fresh(self, payment: Payment) -> Payment:
        return self.get_queryset().get(pk=payment.pk)

    @staticmethod
    def _plan(items: list[dict[str, Any]]) -> list[tuple[Invoice, Any]]:
        return [(item["invoice"], item.get("amount")) for item in items]

    @extend_schema(responses={201: PaymentSerializer,
                              400: OpenApiResponse(description="A field or an allocation is wrong; `errors` names "
                                                               "it, e.g. `allocations[2]`."),
                              403: OpenApiResponse(description="The account is visible but not editable.")},
                   description="Record a payment, allocated to the invoices in `allocate` (partial allowed; an "
                               "amount left out is as much as the invoice has open), or with `auto_allocate` to "
                               "the account's open invoices oldest due first. What is not allocated stays on the "
                               "payment as an advance. All or nothing.")
    def create(self, request, *args, **kwargs):
        data = self.parse()
        account = data.pop("account")
        _require_edit(request.user, account)
        plan = self._plan(data.pop("allocate", []) or [])
        payment = services.payment_create(
            by=request.user, account=account, received_on=data["received_on"], amount=data["amount"],
            allocations=plan or None, auto_allocate=bool(data.pop("auto_allocate", False)) and not plan,
            **{k: v for k, v in data.items() if k in ("method", "reference", "source_system", "external_id")})
        return self.render(self._fresh(payment), status.HTTP_201_CREATED)

    @extend_schema(request=PaymentAllocateSerializer,
                   responses={200: PaymentSerializer,
                              400: OpenApiResponse(description="An allocation is wrong; `errors` names it."),
                              403: OpenApiResponse(description="Visible but not editable."),
                              404: OpenApiResponse(description="Not found.")},
                   description="Allocate (more of) the payment's unallocated part to invoices of the same account.")
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def allocate(self, request, pk=None):
        payment = self.get_object_for_edit()
        body = PaymentAllocateSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        payment = services.payment_allocate(payment=payment, allocations=self._plan(body.validated_data["allocate"]),
                                            by=request.user)
        return self.render(self._fresh(payment))


def _query(serializer_class, request) -> dict[str, Any]:  # noqa: ANN001
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    return {k: v for k, v in query.validated_data.items() if v is not None}


def _scope(q: dict[str, Any]) -> dict[str, Any]:
    scope = {k: q[k] for k in ("account", "group", "owner", "owner_unit") if k in q}
    if "disputed" in q:
        scope["disputed"] = "true" if q["disputed"] else "false"
    return scope


class ReceivablesViewSet(viewsets.GenericViewSet):
    """Receivables reports (应收款) over what the user may see: aging (账龄), balances, DSO, paid late."""

    pagination_class = None
    filter_backends: list = []
    serializer_class = AgingSerializer

    def get_queryset(self):  # for the schema generator only; the reports read through the selectors
        return Invoice.objects.none()

    @extend_schema(parameters=[AgingQuerySerializer], responses={200: AgingSerializer, 400: OpenApiResponse(
        description="A bad parameter; `errors` names it.")},
                   description="Receivables open at the end of `as_of` by aging bucket (days past due then); the "
                               "balance on a day counts only payments received by then. With `group_by`, one row per "
                               "account (the `limit` largest balances) or per owning unit.")
    @action(detail=False, methods=["get"])
    def aging(self, request):
        q = _query(AgingQuerySerializer, request)
        result = selectors.aging(user=request.user, as_of=q.get("as_of"), filters=_scope(q),
                                 group_by=q.get("group_by"), limit=q.get("limit", 50))
        return Response(AgingSerializer(result).data)

    @extend_schema(parameters=[BalanceQuerySerializer], responses={200: BalanceRowSerializer(many=True)},
                   description="The largest open balances per account (or, with `groups`, per group customer, its "
                               "subsidiaries included), with the overdue part and the advances.")
    @action(detail=False, methods=["get"])
    def balances(self, request):
        q = _query(BalanceQuerySerializer, request)
        rows = selectors.balances_by_account(user=request.user, filters=_scope(q), limit=q.get("limit", 50),
                                             groups=q.get("groups", False))
        return Response(BalanceRowSerializer(rows, many=True, context={"request": request}).data)

    @extend_schema(parameters=[DsoQuerySerializer], responses={200: DsoSerializer},
                   description="Days sales outstanding: receivables open at the end of `as_of` ÷ invoiced (with tax, "
                               "void excluded) in the `days` days up to it × `days`.")
    @action(detail=False, methods=["get"])
    def dso(self, request):
        q = _query(DsoQuerySerializer, request)
        result = selectors.dso(user=request.user, as_of=q.get("as_of"), days=q.get("days", 90), filters=_scope(q))
        return Response(DsoSerializer(result).data)

    @extend_schema(responses={200: PaidLateSerializer},
                   description="Paid-late statistics of the settled invoices, narrowed by the invoice list's filters "
                               "(e.g. `invoice_from`, `invoice_to`, `account`, `owner_unit`, `disputed`).")
    @action(detail=False, methods=["get"], url_path="paid-late")
    def paid_late(self, request):
        result = selectors.paid_late(user=request.user, filters=request.query_params)
        return Response(PaidLateSerializer(result).data)

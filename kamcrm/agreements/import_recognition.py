"""Importing recognised revenue (issue 5): one row per agreement line and month, as finance reports it.

Columns: the agreement (number or external id), the product of the line (needed only when the
agreement has more than one line), the month (any day in it) and the amount. A row replaces that
line's figure for the month and zero removes it, exactly as agreements.services.revenue_recognise does
— importing the same file again changes nothing. Rows are checked against the importer's rights on the
agreement's account and written through the service, so audit and facts are the same as through the API.
"""
from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kamcrm.agreements import services
from kamcrm.agreements.import_entities import AGREEMENT_REF
from kamcrm.agreements.models import Agreement, AgreementLine, RevenueRecognition
from kamcrm.analytics.facts import facts_deferred
from kamcrm.core.services import validation_error_dict
from kamcrm.customers.import_entities import _may_edit
from kamcrm.exchange.import_specs import (
    DATE,
    DECIMAL,
    REF,
    FieldSpec,
    ImportContext,
    ImportEntity,
    ImportRow,
    RowProblem,
    register,
)
from kamcrm.exchange.models import ImportErrorKind
from kamcrm.org.selectors import is_administrator
from kamcrm.products.import_entities import PRODUCT_REF


class RecognitionImport(ImportEntity):
    name = "recognised-revenue"
    label = gettext_lazy("recognised revenue")
    model = RevenueRecognition
    file_keys = ()
    fields = (
        FieldSpec("agreement", gettext_lazy("agreement"), REF, required=True, ref=AGREEMENT_REF,
                  help=gettext_lazy("The agreement's number or external id.")),
        FieldSpec("product", gettext_lazy("product"), REF, ref=PRODUCT_REF,
                  help=gettext_lazy("The product of the agreement's line; needed when the agreement has more "
                                    "than one line.")),
        FieldSpec("month", gettext_lazy("month"), DATE, required=True,
                  help=gettext_lazy("Any day of the month (e.g. its first).")),
        FieldSpec("amount", gettext_lazy("recognised revenue"), DECIMAL, required=True,
                  help=gettext_lazy("Replaces the month's figure for the line; 0 removes it.")),
    )

    def permitted(self, user) -> bool:  # noqa: ANN001
        return user is None or user.is_authenticated  # then each row against their rights on the account

    def duplicate_keys(self, row: ImportRow) -> list[tuple[str, Any]]:
        v = row.values
        if isinstance(v.get("agreement"), int) and v.get("month"):
            return [("line-month", (v["agreement"], v.get("product"), v["month"].replace(day=1)))]
        return []

    def match(self, rows: list[ImportRow], ctx: ImportContext) -> None:
        """Find each row's line (row.existing), then check the importer may edit the account."""
        agreement_ids = {r.values["agreement"] for r in rows if isinstance(r.values.get("agreement"), int)}
        agreements = Agreement.objects.in_bulk(agreement_ids)
        lines: dict[int, list[AgreementLine]] = {}
        for line in AgreementLine.objects.filter(agreement_id__in=agreement_ids).order_by("pk"):
            lines.setdefault(line.agreement_id, []).append(line)
        for row in rows:
            v = row.values
            agreement = agreements.get(v.get("agreement"))
            if agreement is None:
                continue  # the reference error is already on the row
            candidates = lines.get(agreement.pk, [])
            if isinstance(v.get("product"), int):
                candidates = [line for line in candidates if line.product_id == v["product"]]
                if not candidates:
                    row.error("product", ImportErrorKind.INVALID,
                              _("Agreement %(n)s has no line of this product.") % {"n": agreement.number})
                    continue
            if len(candidates) != 1:
                row.error("product", ImportErrorKind.MISSING,
                          _("Agreement %(n)s has several lines: name the product.") % {"n": agreement.number})
                continue
            row.existing = candidates[0]
            row.existing.agreement = agreement
        user = ctx.user
        if user is not None and not is_administrator(user):
            matched = [r for r in rows if r.ok and r.existing is not None]
            editable = _may_edit(user, {r.existing.agreement.account_id for r in matched})
            for row in matched:
                if row.existing.agreement.account_id not in editable:
                    row.error("agreement", ImportErrorKind.PERMISSION,
                              _("You may not edit this account's agreements."))

    def write(self, rows: list[ImportRow], ctx: ImportContext) -> None:
        with facts_deferred():
            for row in rows:
                line, v = row.existing, row.values
                month = v["month"].replace(day=1)
                before = RevenueRecognition.objects.filter(line=line, month=month).values_list("amount", flat=True)
                before = next(iter(before), None)
                try:
                    services.revenue_recognise(line=line, month=month, amount=v["amount"], by=ctx.user)
                except ValidationError as exc:
                    name, messages = next(iter(validation_error_dict(exc).items()))
                    raise RowProblem(row, name if name in self.field_specs() else "amount",
                                     "; ".join(messages)) from None
                after = v["amount"] or None
                row.status = ("unchanged" if before == after or (before is None and not after)
                              else "created" if before is None else "updated")


register(RecognitionImport())

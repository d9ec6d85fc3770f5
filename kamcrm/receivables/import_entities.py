"""Invoices and payments through the import framework (kamcrm/exchange/importing.py).

Anyone signed in may import; every row is checked against the importer's reach: a row on an account
they may not edit is rejected with kind "permission" (as accounts and opportunities are).

Invoices match by (source system, external id), else by invoice number. New invoices are written in
bulk by `services.invoice_create_many` (the same rules as invoice_create, checked for the whole batch
in match() so that a dry run is exact); a changed one goes through `services.invoice_update`.

Payments match by (source system, external id). A new payment may name one invoice (by number or
external id, possibly a row above in the same file, e.g. a step before): it is allocated to it —
`allocate` when given, else as much as the invoice has open — and whatever is left stays an advance.
The account is the invoice's when the row names none. New payments are written in bulk by
`services.payment_create_many`. A payment already recorded is never changed by an import: the same
values count as unchanged, other values are rejected.

Each batch refreshes the revenue facts once, for its accounts and months (the services take
`refresh=False` for that).

One file with one row per settled invoice (IBM's accounts receivable sample,
`exchange/mappings/ibm-receivables.json`) runs three steps over the same rows: the customer as an
account (repeated rows of one customer collapse: `collapse_duplicates`), the invoice, and its payment
received on the settled date allocated to it in full.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kamcrm.agreements.import_entities import AGREEMENT_REF
from kamcrm.agreements.models import Agreement
from kamcrm.analytics.facts import facts_refresh
from kamcrm.core.services import validation_error_dict
from kamcrm.customers.import_entities import ACCOUNT_REF, _may_edit
from kamcrm.customers.models import Account
from kamcrm.exchange.import_specs import (
    BOOL,
    CHOICE,
    DATE,
    DECIMAL,
    REF,
    FieldSpec,
    ImportContext,
    ImportEntity,
    ImportRow,
    Ref,
    RowProblem,
    register,
)
from kamcrm.exchange.models import ImportErrorKind, ImportStatus
from kamcrm.org.selectors import is_administrator
from kamcrm.products.models import ProductLine
from kamcrm.receivables import services
from kamcrm.receivables.choices import InvoiceStatus, PaymentMethod
from kamcrm.receivables.models import Invoice, Payment

INVOICE_REF = Ref(Invoice, ("number", "external_id"))
LINE_REF = Ref(ProductLine, ("code", "name", "external_id"))
METHOD_WORDS = {"电汇": PaymentMethod.TRANSFER, "转账": PaymentMethod.TRANSFER, "银行转账": PaymentMethod.TRANSFER,
                "承兑汇票": PaymentMethod.DRAFT, "汇票": PaymentMethod.DRAFT, "刷卡": PaymentMethod.CARD,
                "现金": PaymentMethod.CASH, "其他": PaymentMethod.OTHER}
# Invoice fields an import sets, as the services name them.
INVOICE_PLAIN = ("number", "invoice_date", "due_date", "amount", "tax", "currency", "disputed")


def _field_of(exc: ValidationError, default: str) -> tuple[str, str]:
    """(field, message) of a service's error, with the field as the import names it."""
    errors = validation_error_dict(exc)
    name, messages = next(iter(errors.items()))
    if name in ("__all__", "total", "status") or name.startswith("allocations["):
        name = default
    return name, "; ".join(messages)


def _writing(ctx: ImportContext) -> bool:
    """In the write pass the batch services check every row again (and refuse with ItemRefused), so
    match() need not run those checks a second time."""
    return ctx.job is not None and ctx.job.status == ImportStatus.WRITING


def _refresh(pairs: set[tuple[int, dt.date]]) -> None:
    if pairs:
        facts_refresh({a for a, _d in pairs}, {d for _a, d in pairs})


class _ReachMixin:
    def permitted(self, user) -> bool:  # noqa: ANN001
        return user is None or user.is_authenticated  # then each row against their reach

    def _check_reach(self, rows: list[ImportRow], ctx: ImportContext, account_of) -> None:  # noqa: ANN001
        user = ctx.user
        if user is None or is_administrator(user):
            return
        ids = {account_of(r) for r in rows if isinstance(account_of(r), int)}
        editable = _may_edit(user, ids)
        for row in rows:
            account_id = account_of(row)
            if isinstance(account_id, int) and account_id not in editable:
                row.error("account", ImportErrorKind.PERMISSION, _("You may not edit this account's receivables."))


class InvoiceImport(_ReachMixin, ImportEntity):
    name = "invoice"
    label = gettext_lazy("invoices")
    model = Invoice
    file_keys = ("external_id", "number")
    fields = (
        FieldSpec("number", gettext_lazy("invoice number"), max_length=60,
                  help=gettext_lazy("Needed for a new invoice; kept as text (leading zeros stay).")),
        FieldSpec("account", gettext_lazy("account"), REF, ref=ACCOUNT_REF,
                  help=gettext_lazy("Needed for a new invoice: the account's external id, credit code or name.")),
        FieldSpec("invoice_date", gettext_lazy("invoice date"), DATE, help=gettext_lazy("Needed for a new invoice.")),
        FieldSpec("due_date", gettext_lazy("due date"), DATE, help=gettext_lazy("30 days after the invoice date when "
                                                                                "empty.")),
        FieldSpec("amount", gettext_lazy("amount (net)"), DECIMAL, help=gettext_lazy("Needed for a new invoice.")),
        FieldSpec("tax", gettext_lazy("tax"), DECIMAL, help=gettext_lazy("0 when empty.")),
        FieldSpec("currency", gettext_lazy("currency"), max_length=3),
        FieldSpec("disputed", gettext_lazy("disputed"), BOOL),
        FieldSpec("product_line", gettext_lazy("product line"), REF, ref=LINE_REF),
        FieldSpec("agreement", gettext_lazy("agreement"), REF, ref=AGREEMENT_REF,
                  help=gettext_lazy("The agreement's number or external id; it must be the same account's.")),
        FieldSpec("external_id", gettext_lazy("external id"), max_length=100,
                  help=gettext_lazy("The record's id in the source system: importing again updates it.")),
    )

    def duplicate_keys(self, row: ImportRow) -> list[tuple[str, Any]]:
        v = row.values
        keys: list[tuple[str, Any]] = []
        if v.get("external_id"):
            keys.append(("external_id", v["external_id"]))
        if v.get("number"):
            keys.append(("number", v["number"]))
        return keys

    # --- matching and checks -------------------------------------------------------------------

    def _items(self, rows: list[ImportRow], ctx: ImportContext) -> list[dict[str, Any]]:
        """invoice_create's arguments for new rows (an account not written yet is an unsaved stand-in)."""
        agreements = Agreement.objects.in_bulk({r.values["agreement"] for r in rows
                                                if isinstance(r.values.get("agreement"), int)})
        items = []
        for row in rows:
            v = row.values
            account = v.get("account")
            item = {k: v[k] for k in INVOICE_PLAIN if k in v}
            item["account"] = Account(pk=account if isinstance(account, int) else None)
            if isinstance(v.get("agreement"), int) and isinstance(account, int):
                item["agreement"] = agreements[v["agreement"]]
            if isinstance(v.get("product_line"), int):
                item["product_line"] = ProductLine(pk=v["product_line"])
            if v.get("external_id"):
                item["source_system"], item["external_id"] = ctx.source_system, v["external_id"]
            items.append(item)
        return items

    def match(self, rows: list[ImportRow], ctx: ImportContext) -> None:
        exts = {r.values["external_id"] for r in rows if r.values.get("external_id")}
        numbers = {r.values["number"] for r in rows if r.values.get("number")}
        by_ext = ({i.external_id: i for i in Invoice.objects.filter(source_system=ctx.source_system,
                                                                     external_id__in=exts)} if exts else {})
        by_number = {i.number: i for i in Invoice.objects.filter(number__in=numbers)} if numbers else {}
        new: list[ImportRow] = []
        for row in rows:
            v = row.values
            found = by_ext.get(v.get("external_id") or "")
            if found is None and v.get("number") in by_number:
                found = by_number[v["number"]]
                if v.get("external_id") and found.external_id:
                    row.error("number", ImportErrorKind.DUPLICATE_EXISTING,
                              _("Invoice %(n)s already exists with the external id %(ext)s.")
                              % {"n": found.number, "ext": f"{found.source_system}:{found.external_id}"})
                    continue
            row.existing = found
            if found is None:
                for name in ("number", "account", "invoice_date", "amount"):
                    if name not in v and name not in [f for f, _k, _m in row.errors]:
                        row.error(name, ImportErrorKind.MISSING, _("A new invoice needs a value here."))
                if row.ok:
                    new.append(row)
                continue
            self._check_change(row)
        if new and not _writing(ctx):
            _built, errors = services.invoices_check(items=self._items(new, ctx))
            for index, exc in errors.items():
                name, message = _field_of(exc, "number")
                kind = ImportErrorKind.DUPLICATE_EXISTING if "exists" in message else ImportErrorKind.INVALID
                new[index].error(name if name in self.field_specs() else "number", kind, message)
        self._check_reach([r for r in rows if r.ok], ctx,
                          lambda r: r.existing.account_id if r.existing is not None else r.values.get("account"))

    def _changes(self, row: ImportRow, source_system: str = "") -> dict[str, Any]:
        v, invoice = row.values, row.existing
        changes = {k: v[k] for k in INVOICE_PLAIN if k in v and getattr(invoice, k) != v[k]}
        if v.get("external_id") and not invoice.external_id:  # adopted by its number: it takes the id
            changes["source_system"], changes["external_id"] = source_system, v["external_id"]
        for name in ("product_line", "agreement"):
            if isinstance(v.get(name), int) and v[name] != getattr(invoice, f"{name}_id"):
                changes[name] = v[name]
        return changes

    def _check_change(self, row: ImportRow) -> None:
        v, invoice = row.values, row.existing
        if isinstance(v.get("account"), int) and v["account"] != invoice.account_id:
            row.error("account", ImportErrorKind.INVALID,
                      _("An invoice stays with its account; void it and issue a new one instead."))
            return
        changes = self._changes(row)
        if changes and invoice.status == InvoiceStatus.VOID:
            row.error(next(iter(changes)), ImportErrorKind.INVALID, _("A void invoice cannot be changed."))
            return
        amount, tax = changes.get("amount", invoice.amount), changes.get("tax", invoice.tax)
        if ("amount" in changes or "tax" in changes) and amount + tax < invoice.paid_amount:
            row.error("amount", ImportErrorKind.INVALID, _("The total cannot be less than the %(paid)s already paid.")
                      % {"paid": invoice.paid_amount})
        start, due = changes.get("invoice_date", invoice.invoice_date), changes.get("due_date", invoice.due_date)
        if due < start:
            row.error("due_date", ImportErrorKind.INVALID, _("The due date cannot be before the invoice date."))

    # --- writing ---------------------------------------------------------------------------------

    def write(self, rows: list[ImportRow], ctx: ImportContext) -> None:
        by = ctx.user if ctx.user is not None and ctx.user.pk else None
        touched: set[tuple[int, dt.date]] = set()
        new = [r for r in rows if r.existing is None]
        if new:
            items = self._items(new, ctx)
            try:
                created = services.invoice_create_many(items=items, by=by, refresh=False)
            except services.ItemRefused as exc:
                name, message = _field_of(exc, "number")
                raise RowProblem(new[exc.index], name if name in self.field_specs() else "number", message) from None
            for row, invoice in zip(new, created, strict=True):
                row.existing, row.status = invoice, "created"
                touched.add((invoice.account_id, invoice.invoice_date))
        for row in rows:
            if row.status == "created":
                continue
            changes = self._changes(row, ctx.source_system)
            if not changes:
                row.status = "unchanged"
                continue
            for name in ("product_line", "agreement"):
                if name in changes:
                    changes[name] = (ProductLine if name == "product_line" else Agreement).objects.get(pk=changes[name])
            before = row.existing.invoice_date
            try:
                row.existing = services.invoice_update(invoice=row.existing, data=changes, by=by, refresh=False)
            except ValidationError as exc:
                name, message = _field_of(exc, "number")
                raise RowProblem(row, name if name in self.field_specs() else "number", message) from None
            row.status = "updated"
            touched |= {(row.existing.account_id, before), (row.existing.account_id, row.existing.invoice_date)}
        _refresh(touched)


class PaymentImport(_ReachMixin, ImportEntity):
    name = "payment"
    label = gettext_lazy("payments")
    model = Payment
    fields = (
        FieldSpec("account", gettext_lazy("account"), REF, ref=ACCOUNT_REF,
                  help=gettext_lazy("The paying account; the invoice's account when empty.")),
        FieldSpec("invoice", gettext_lazy("invoice"), REF, ref=INVOICE_REF,
                  help=gettext_lazy("The invoice it pays (number or external id); may be a row above in the file.")),
        FieldSpec("received_on", gettext_lazy("received on"), DATE, required=True),
        FieldSpec("amount", gettext_lazy("amount"), DECIMAL, required=True),
        FieldSpec("allocate", gettext_lazy("allocated to the invoice"), DECIMAL,
                  help=gettext_lazy("How much of the payment pays the invoice; as much as it has open when empty. "
                                    "The rest stays an advance.")),
        FieldSpec("method", gettext_lazy("method"), CHOICE, choices=PaymentMethod, words=METHOD_WORDS),
        FieldSpec("reference", gettext_lazy("reference"), max_length=100),
        FieldSpec("external_id", gettext_lazy("external id"), max_length=100,
                  help=gettext_lazy("The payment's id in the source system: importing again changes nothing.")),
    )

    def match(self, rows: list[ImportRow], ctx: ImportContext) -> None:
        exts = {r.values["external_id"] for r in rows if r.values.get("external_id")}
        by_ext = ({p.external_id: p for p in Payment.objects.filter(source_system=ctx.source_system,
                                                                     external_id__in=exts)} if exts else {})
        invoices = Invoice.objects.in_bulk({r.values["invoice"] for r in rows if isinstance(r.values.get("invoice"),
                                                                                             int)})
        checkable: list[ImportRow] = []
        for row in rows:
            v = row.values
            found = by_ext.get(v.get("external_id") or "")
            invoice = invoices.get(v.get("invoice")) if isinstance(v.get("invoice"), int) else None
            if invoice is not None:
                if isinstance(v.get("account"), int) and v["account"] != invoice.account_id:
                    row.error("invoice", ImportErrorKind.INVALID, _("Invoice %(n)s belongs to another account.")
                              % {"n": invoice.number})
                    continue
                v.setdefault("account", invoice.account_id)
            if v.get("allocate") is not None and "invoice" not in v:
                row.error("invoice", ImportErrorKind.MISSING, _("An allocated amount needs an invoice."))
                continue
            if "account" not in v and "invoice" not in v:
                row.error("account", ImportErrorKind.MISSING, _("Name the account or the invoice paid."))
                continue
            row.existing = found
            if found is not None:
                same = (found.received_on == v["received_on"] and found.amount == v["amount"]
                        and (not isinstance(v.get("account"), int) or found.account_id == v["account"]))
                if not same:
                    row.error("external_id", ImportErrorKind.DUPLICATE_EXISTING,
                              _("This payment is already recorded (received %(day)s, %(amount)s); an import does not "
                                "change a recorded payment.") % {"day": found.received_on, "amount": found.amount})
                continue
            if isinstance(v.get("account"), int) and ("invoice" not in v or invoice is not None):
                checkable.append(row)  # rows paying an invoice further up the file are checked when written
        if checkable and not _writing(ctx):
            items = self._items(checkable, invoices, ctx.source_system)
            _built, _p, errors = services.payments_check(items=items)
            for index, exc in errors.items():
                name, message = _field_of(exc, "allocate")
                checkable[index].error(name if name in self.field_specs() else "allocate", ImportErrorKind.INVALID,
                                       message)
        self._check_reach([r for r in rows if r.ok], ctx, lambda r: r.values.get("account"))

    def _items(self, rows: list[ImportRow], invoices: dict[int, Invoice], source_system: str) -> list[dict[str, Any]]:
        """payment_create_many's items; an invoice's default allocation is what it has open, less what
        earlier rows of the batch allocate to it, and at most the payment."""
        taken: dict[int, Decimal] = {}
        items = []
        for row in rows:
            v = row.values
            item = {"account": Account(pk=v["account"]), "received_on": v.get("received_on"),
                    "amount": v.get("amount"), "allocations": []}
            for name in ("method", "reference"):
                if v.get(name):
                    item[name] = v[name]
            if v.get("external_id"):
                item["source_system"], item["external_id"] = source_system, v["external_id"]
            invoice = invoices.get(v.get("invoice")) if isinstance(v.get("invoice"), int) else None
            if invoice is not None:
                share = v.get("allocate")
                if share is None:
                    still = invoice.total - invoice.paid_amount - taken.get(invoice.pk, Decimal("0"))
                    share = min(v.get("amount") or Decimal("0"), still)
                if share > 0:
                    item["allocations"] = [(invoice, share)]
                    taken[invoice.pk] = taken.get(invoice.pk, Decimal("0")) + share
            items.append(item)
        return items

    def write(self, rows: list[ImportRow], ctx: ImportContext) -> None:
        by = ctx.user if ctx.user is not None and ctx.user.pk else None
        for row in rows:
            if row.existing is not None:
                row.status = "unchanged"
        new = [r for r in rows if r.existing is None]
        if not new:
            return
        invoices = Invoice.objects.in_bulk({r.values["invoice"] for r in new if isinstance(r.values.get("invoice"),
                                                                                            int)})
        for row in new:
            invoice = invoices.get(row.values.get("invoice"))
            if invoice is not None:
                row.values.setdefault("account", invoice.account_id)
                if row.values["account"] != invoice.account_id:
                    raise RowProblem(row, "invoice", _("Invoice %(n)s belongs to another account.")
                                     % {"n": invoice.number})
        items = self._items(new, invoices, ctx.source_system)
        try:
            created = services.payment_create_many(items=items, by=by, refresh=False)
        except services.ItemRefused as exc:
            name, message = _field_of(exc, "allocate")
            raise RowProblem(new[exc.index], name if name in self.field_specs() else "allocate", message) from None
        for row, payment in zip(new, created, strict=True):
            row.existing, row.status = payment, "created"
        _refresh({(p.account_id, p.received_on) for p in created})


register(InvoiceImport())
register(PaymentImport())

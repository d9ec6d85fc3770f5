"""Sales orders through the import framework (kamcrm/exchange/importing.py): one row per order line.

Rows are grouped by their order number, as agreement rows are (import_entities.AgreementImport). The
first row of an order names it (account, agreement, ordered on, owner, status, external id); later rows
of the same order may leave those cells empty, and a value that differs from the first row's is an error
on that cell. A row with a product is one line of the order (quantity, unit price, delivered quantity);
a row without one only updates the order's own cells.

Matching: by order number (the key), checked against (source system, external id). A new order is made
by agreements.services.order_create, so its total, status, audit rows and timeline entry are those of an
order made in the UI. An existing order is updated with the same rules: its own cells through
core.services.model_update, and — when the file gives lines — its lines replaced by the file's: a line
of the file takes over the order's line of the same product (keeping what it has delivered when the
file says nothing), other lines are added, and the order's lines the file no longer has are removed,
unless something of them was delivered (an import never removes a delivered line, nor takes a delivery
back). The total and status follow from the lines as order_create and order_deliver make them: open,
partly delivered or delivered from the delivered quantities; cancelled when the file says so. A status
in the file other than cancelled must be the one the delivered quantities give (for "delivered", a line
whose delivered quantity is empty counts as delivered in full). Re-importing the same file changes
nothing ("unchanged").

All or nothing per order: an order is written only if none of its rows is rejected, and it is written
whole in the batch that holds its first row (its rows further down the file are read from the file
then), so an order whose rows straddle two write batches never has half of its lines. A row rejected
while validating makes the other rows of its order rejected too when the file is written.
Anyone signed in may import; each row is checked against the importer's reach (kind "permission"):
the account must be one they may edit, a new owner one they may assign.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kamcrm.agreements import schedule as sched
from kamcrm.agreements import services
from kamcrm.agreements.choices import OrderStatus
from kamcrm.agreements.import_entities import AGREEMENT_REF
from kamcrm.agreements.models import Agreement, Order, OrderLine
from kamcrm.core.services import model_update, validation_error_dict
from kamcrm.customers.import_entities import ACCOUNT_REF, USER_REF, _may_edit
from kamcrm.customers.models import Account
from kamcrm.customers.services import owner_assignable
from kamcrm.exchange.import_specs import (
    CHOICE,
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
from kamcrm.exchange.models import ImportErrorKind, ImportRowError, ImportStatus
from kamcrm.org.models import User
from kamcrm.org.selectors import is_administrator
from kamcrm.products.import_entities import PRODUCT_REF
from kamcrm.products.models import Product

__all__ = ["OrderImport"]


# Words sources use for an order's status besides our labels (zh and en labels are accepted anyway).
STATUS_WORDS = {"新建": OrderStatus.OPEN, "未交付": OrderStatus.OPEN, "待发货": OrderStatus.OPEN,
                "部分发货": OrderStatus.PARTLY_DELIVERED, "部分交付": OrderStatus.PARTLY_DELIVERED,
                "已交付": OrderStatus.DELIVERED, "已发货": OrderStatus.DELIVERED, "完成": OrderStatus.DELIVERED,
                "已完成": OrderStatus.DELIVERED, "取消": OrderStatus.CANCELLED, "作废": OrderStatus.CANCELLED,
                "已作废": OrderStatus.CANCELLED, "partial": OrderStatus.PARTLY_DELIVERED,
                "partially delivered": OrderStatus.PARTLY_DELIVERED, "canceled": OrderStatus.CANCELLED}
# The order's own cells: the first row of an order names them, later rows repeat them or leave them empty.
HEADER = ("account", "agreement", "ordered_on", "owner", "status", "external_id")
NEEDED_FOR_NEW = ("account", "ordered_on", "owner")
LINE_CELLS = ("quantity", "unit_price", "delivered_quantity")
# Which cell an error of OrderLine.full_clean() belongs on.
LINE_ERROR_FIELDS = {"quantity": "quantity", "unit_price": "unit_price", "amount": "unit_price",
                     "delivered_quantity": "delivered_quantity", "product": "product"}
ZERO = Decimal("0")


def _number(row: ImportRow) -> str:
    return str(row.values.get("number") or "").strip()


def _rejected_message(line: int, number: str) -> str:
    return _("Not imported: line %(line)d of order %(number)s is rejected (an order is imported whole or not "
             "at all).") % {"line": line, "number": number}


@dataclass
class Problem:
    row: ImportRow
    field: str
    kind: str
    message: str


@dataclass
class Plan:
    """What writing an order's rows does: its lines (file line → the order's line it takes over), the
    order's lines removed, and the status the order ends in."""

    lines: list[tuple[ImportRow, dict[str, Any], OrderLine | None]] = field(default_factory=list)
    removed: list[OrderLine] = field(default_factory=list)
    status: str = OrderStatus.OPEN
    replace: bool = False


class _Refused(Exception):
    def __init__(self, problem: Problem):
        super().__init__(problem.message)
        self.problem = problem


class OrderImport(ImportEntity):
    name = "order"
    label = gettext_lazy("orders")
    model = Order
    file_keys = ("number", "external_id")
    fields = (
        FieldSpec("number", gettext_lazy("order number"), required=True, max_length=60,
                  help=gettext_lazy("Rows with the same number are the lines of one order; an order already "
                                    "in the system with this number is updated.")),
        FieldSpec("account", gettext_lazy("account"), REF, ref=ACCOUNT_REF,
                  help=gettext_lazy("Needed for a new order: the account's external id, credit code or name.")),
        FieldSpec("agreement", gettext_lazy("agreement number"), REF, ref=AGREEMENT_REF,
                  help=gettext_lazy("Optional: an agreement of the same account, by its number or external id.")),
        FieldSpec("ordered_on", gettext_lazy("ordered on"), DATE, help=gettext_lazy("Needed for a new order.")),
        FieldSpec("owner", gettext_lazy("owner"), REF, ref=USER_REF,
                  help=gettext_lazy("Needed for a new order: a username, e-mail, external id or display name.")),
        FieldSpec("status", gettext_lazy("status"), CHOICE, choices=OrderStatus, words=STATUS_WORDS,
                  help=gettext_lazy("Follows from the delivered quantities when empty; cancelled cancels the "
                                    "order.")),
        FieldSpec("product", gettext_lazy("product"), REF, ref=PRODUCT_REF,
                  help=gettext_lazy("The line's product: its code, name or external id.")),
        FieldSpec("quantity", gettext_lazy("quantity"), DECIMAL, help=gettext_lazy("1 when empty.")),
        FieldSpec("unit_price", gettext_lazy("unit price"), DECIMAL, help=gettext_lazy("Needed for each line.")),
        FieldSpec("delivered_quantity", gettext_lazy("delivered quantity"), DECIMAL,
                  help=gettext_lazy("At most the quantity; 0 when empty (a line already on the order keeps what "
                                    "it has delivered).")),
        FieldSpec("external_id", gettext_lazy("external id"), max_length=100,
                  help=gettext_lazy("The order's id in the source system (the same on each of its rows).")),
    )

    def permitted(self, user) -> bool:  # noqa: ANN001
        return user is None or user.is_authenticated

    def duplicate_keys(self, row: ImportRow) -> list[tuple[str, Any]]:
        return []  # many rows share an order number by design

    # --- checks of one row ---------------------------------------------------------------------------------

    def _check_cells(self, row: ImportRow) -> None:
        """The line's cells on their own, as order_create checks them."""
        v = row.values
        if v.get("product") is None:
            if any(v.get(name) is not None for name in LINE_CELLS):
                row.error("product", ImportErrorKind.MISSING, _("Give the line's product, or leave the line's "
                                                                "cells empty."))
            return
        quantity = v.get("quantity") if v.get("quantity") is not None else Decimal("1")
        if v.get("quantity") is not None and quantity <= 0:
            row.error("quantity", ImportErrorKind.INVALID, _("The quantity must be more than 0."))
        for name in ("unit_price", "delivered_quantity"):
            if v.get(name) is not None and v[name] < 0:
                row.error(name, ImportErrorKind.INVALID, _("This cannot be negative."))
        if v.get("unit_price") is None:
            row.error("unit_price", ImportErrorKind.MISSING, _("Give the unit price."))
        delivered = v.get("delivered_quantity")
        if delivered is not None and delivered > quantity:
            row.error("delivered_quantity", ImportErrorKind.INVALID,
                      _("More delivered (%(delivered)s) than ordered (%(quantity)s).")
                      % {"delivered": delivered, "quantity": quantity})
        if not row.ok:
            return
        probe = OrderLine(product_id=v["product"], quantity=quantity, unit_price=v["unit_price"],
                          amount=(quantity * v["unit_price"]).quantize(sched.CENT), delivered_quantity=delivered or ZERO)
        try:
            probe.full_clean(exclude=["order", "product"])
        except ValidationError as exc:
            for key, messages in validation_error_dict(exc).items():
                row.error(LINE_ERROR_FIELDS.get(key, "quantity"), ImportErrorKind.INVALID, "; ".join(messages))

    @staticmethod
    def _line(row: ImportRow) -> dict[str, Any] | None:
        v = row.values
        if v.get("product") is None:
            return None
        return {"product": v["product"], "unit_price": v["unit_price"],
                "quantity": v["quantity"] if v.get("quantity") is not None else Decimal("1"),
                "delivered": v.get("delivered_quantity")}

    def _existing(self, rows: list[ImportRow], ctx: ImportContext) -> dict[str, Order]:
        numbers = {_number(r) for r in rows if _number(r)}
        exts = {r.values["external_id"] for r in rows if r.values.get("external_id")}
        q = Q(number__in=numbers)
        if exts:
            q |= Q(source_system=ctx.source_system, external_id__in=exts)
        found: dict[str, Order] = {}
        for order in Order.objects.filter(q):
            found[order.number] = order
            if order.external_id and order.source_system == ctx.source_system:
                found[f"\x1fext:{order.external_id}"] = order
        return found

    def _match_existing(self, row: ImportRow, existing: dict[str, Order]) -> None:
        number, ext = _number(row), row.values.get("external_id")
        found = existing.get(number)
        by_ext = existing.get(f"\x1fext:{ext}") if ext else None
        if by_ext is not None and found is not None and by_ext.pk != found.pk:
            row.error("external_id", ImportErrorKind.INVALID, _("This external id belongs to order %(other)s, not "
                                                                "%(number)s.") % {"other": by_ext.number,
                                                                                  "number": number})
        elif by_ext is not None and found is None:
            row.error("number", ImportErrorKind.INVALID,
                      _("The order with this external id is numbered %(other)s.") % {"other": by_ext.number})
        row.existing = found

    @staticmethod
    def _merge(row: ImportRow, first: tuple[int, dict[str, Any], dict[str, Any]] | None, number: str
               ) -> tuple[int, dict[str, Any], dict[str, Any]]:
        """The order's cells for this row: the first row's (line, values, raw values), checked against and
        completed by this row's."""
        if first is None:
            return (row.line, {k: row.values.get(k) for k in HEADER}, {k: row.raw.get(k) for k in HEADER})
        line, known, raw = first
        for name in HEADER:
            value = row.values.get(name)
            if value in (None, ""):
                continue
            if known.get(name) in (None, ""):
                known[name], raw[name] = value, row.raw.get(name)
            elif known[name] != value:
                row.error(name, ImportErrorKind.INVALID,
                          _("Order %(number)s has another value here on line %(line)d (“%(value)s”).")
                          % {"number": number, "line": line, "value": raw.get(name) or known[name]})
        return first

    def _lookups(self, rows: list[ImportRow], headers: list[dict[str, Any]], ctx: ImportContext) -> dict[str, Any]:
        """What the header checks need for these rows, in a few queries."""
        accounts = {h.get("account") for h in headers} | {r.existing.account_id for r in rows if r.existing}
        accounts = {a for a in accounts if isinstance(a, int)}
        user = ctx.user
        everything = user is None or is_administrator(user)
        return {
            "editable": accounts if everything else _may_edit(user, accounts),
            "everything": everything,
            "agreements": Agreement.objects.in_bulk({h["agreement"] for h in headers
                                                     if isinstance(h.get("agreement"), int)}),
            "owners": User.objects.select_related("unit").in_bulk({h["owner"] for h in headers
                                                                   if isinstance(h.get("owner"), int)}),
            "assignable": ctx.memo.setdefault("assignable", {}),
        }

    def _check_header(self, row: ImportRow, header: dict[str, Any], existing: Order | None, lookups: dict[str, Any],
                      ctx: ImportContext, *, first: bool) -> list[Problem]:
        """The order's own cells, on the row that carries them (the first row for what is missing)."""
        problems: list[Problem] = []
        v = row.values
        if existing is None and first:
            for name in NEEDED_FOR_NEW:
                if header.get(name) in (None, ""):
                    problems.append(Problem(row, name, ImportErrorKind.MISSING, _("A new order needs a value "
                                                                                 "here.")))
            if problems:
                return problems
        account_id = existing.account_id if existing is not None else header.get("account")
        if existing is not None and v.get("account") is not None and v["account"] != existing.account_id:
            problems.append(Problem(row, "account", ImportErrorKind.INVALID,
                                    _("Order %(number)s is on another account; an import does not move an order.")
                                    % {"number": existing.number}))
            return problems
        if (first or "account" in v) and isinstance(account_id, int) and account_id not in lookups["editable"]:
            name = "account" if row.columns.get("account") else "number"
            problems.append(Problem(row, name, ImportErrorKind.PERMISSION,
                                    _("You may not edit this account's orders.")))
            return problems
        agreement = lookups["agreements"].get(v.get("agreement"))
        if agreement is not None and isinstance(account_id, int) and agreement.account_id != account_id:
            problems.append(Problem(row, "agreement", ImportErrorKind.INVALID,
                                    _("The agreement belongs to another account.")))
        owner = lookups["owners"].get(v.get("owner"))
        if owner is not None and not lookups["everything"] and (existing is None or owner.pk != existing.owner_id):
            assignable = lookups["assignable"]
            if owner.pk not in assignable:
                assignable[owner.pk] = owner_assignable(by=ctx.user, owner=owner)
            if not assignable[owner.pk]:
                problems.append(Problem(row, "owner", ImportErrorKind.PERMISSION,
                                        _("The owner must be you or someone whose accounts you may edit.")))
        return problems

    # --- checks of a whole order -----------------------------------------------------------------------

    def _plan(self, number: str, rows: list[ImportRow], header: dict[str, Any], existing: Order | None,
              current: list[OrderLine]) -> tuple[Plan, list[Problem]]:
        """The order's lines against the lines it has: what is kept, added, removed, and the status."""
        plan, problems = Plan(), []
        last = rows[-1]
        wanted = header.get("status")
        files = [(row, line) for row in rows if (line := self._line(row)) is not None]
        if existing is None and not files:
            problems.append(Problem(last, "product", ImportErrorKind.MISSING, _("A new order needs at least one "
                                                                                "line.")))
            return plan, problems
        cancelled = existing is not None and existing.status == OrderStatus.CANCELLED and wanted in (
            None, OrderStatus.CANCELLED)
        plan.replace = bool(files)
        if files:
            taken: set[int] = set()
            pairs: list[tuple[ImportRow, dict[str, Any], OrderLine | None]] = []
            for row, line in files:  # the same line first (product, quantity, price), then the same product
                same = next((x for x in current if x.pk not in taken and x.product_id == line["product"]
                             and x.quantity == line["quantity"] and x.unit_price == line["unit_price"]), None)
                if same is not None:
                    taken.add(same.pk)
                pairs.append((row, line, same))
            for index, (row, line, same) in enumerate(pairs):
                if same is None:
                    same = next((x for x in current if x.pk not in taken and x.product_id == line["product"]), None)
                    if same is not None:
                        taken.add(same.pk)
                        pairs[index] = (row, line, same)
            for row, line, same in pairs:
                had = same.delivered_quantity if same is not None else ZERO
                delivered = line["delivered"]
                if delivered is None:
                    delivered = line["quantity"] if wanted == OrderStatus.DELIVERED else had
                column = "delivered_quantity" if line["delivered"] is not None else "quantity"
                if delivered < had:
                    problems.append(Problem(row, "delivered_quantity", ImportErrorKind.INVALID,
                                            _("%(had)s of this line are already delivered; an import does not take "
                                              "a delivery back.") % {"had": had}))
                elif delivered > line["quantity"]:
                    problems.append(Problem(row, column, ImportErrorKind.INVALID,
                                            _("More delivered (%(delivered)s) than ordered (%(quantity)s).")
                                            % {"delivered": delivered, "quantity": line["quantity"]}))
                elif cancelled and delivered > had:
                    problems.append(Problem(row, column, ImportErrorKind.INVALID,
                                            _("A cancelled order cannot be delivered.")))
                plan.lines.append((row, {**line, "delivered": delivered}, same))
            plan.removed = [x for x in current if x.pk not in taken]
            for gone in plan.removed:
                if gone.delivered_quantity > 0:
                    product = Product.objects.filter(pk=gone.product_id).values_list("code", flat=True).first()
                    problems.append(Problem(last, "product", ImportErrorKind.INVALID,
                                            _("Order %(number)s has a line of %(product)s with %(delivered)s "
                                              "delivered that this file does not have; an import does not remove "
                                              "a delivered line.")
                                            % {"number": number, "product": product,
                                               "delivered": gone.delivered_quantity}))
            lines = [OrderLine(quantity=line["quantity"], delivered_quantity=line["delivered"])
                     for _row, line, _same in plan.lines]
        else:
            lines = current
        base = wanted or (existing.status if existing is not None else OrderStatus.OPEN)
        plan.status = services._order_status(lines, base)
        if wanted and plan.status != wanted:
            target = next((row for row in rows if row.values.get("status")), last)
            problems.append(Problem(target, "status", ImportErrorKind.INVALID,
                                    _("The delivered quantities make this order “%(status)s”, not “%(wanted)s”.")
                                    % {"status": OrderStatus(plan.status).label,
                                       "wanted": OrderStatus(wanted).label}))
        return plan, problems

    # --- validation (both passes) ----------------------------------------------------------------------

    @staticmethod
    def _validating(ctx: ImportContext) -> bool:
        return ctx.job is None or ctx.job.status == ImportStatus.VALIDATING

    def match(self, rows: list[ImportRow], ctx: ImportContext) -> None:
        validating = self._validating(ctx)
        if validating:
            self._rejected_before(rows, ctx)
        existing = self._existing(rows, ctx)
        for row in rows:
            if row.ok:
                self._check_cells(row)
            if row.ok:
                self._match_existing(row, existing)
        if not validating:
            return  # writing: each order is checked whole in write()
        groups = self._file_groups(rows, ctx)
        headers: dict[str, tuple] = ctx.memo.setdefault("order_headers", {})
        seen_rows: dict[str, list[ImportRow]] = ctx.memo.setdefault("order_rows", defaultdict(list))
        bad_groups: dict[str, int] = ctx.memo.setdefault("order_bad", {})
        merged: list[tuple[ImportRow, dict[str, Any], bool]] = []
        for row in rows:
            if not row.ok:
                continue
            number = _number(row)
            first = headers.get(number) is None
            headers[number] = self._merge(row, headers.get(number), number)
            merged.append((row, headers[number][1], first))
        lookups = self._lookups([r for r, _h, _f in merged], [h for _r, h, _f in merged], ctx)
        for row, header, first in merged:
            if row.ok:
                for p in self._check_header(row, header, row.existing, lookups, ctx, first=first):
                    row.error(p.field, p.kind, p.message)
        for row in rows:  # a rejected row of this batch: its order is not written, no need to check it whole
            if not row.ok:
                bad_groups.setdefault(_number(row), row.line)
        # an order whose last row is in this batch: its lines against the lines it has
        ending = []
        for row in rows:
            number = _number(row)
            if row.ok and number not in bad_groups:
                seen_rows[number].append(row)
            if row.line == max(groups.get(number) or [row.line]):
                ending.append((number, row))
        current = self._lines_of([r.existing for _n, r in ending if r.existing is not None])
        for number, last in ending:
            group = seen_rows.pop(number, [])
            known = headers.pop(number, None)
            if number in bad_groups or not last.ok or not group or known is None:
                continue
            existing = group[0].existing
            _plan, problems = self._plan(number, group, known[1], existing,
                                         current.get(existing.pk, []) if existing is not None else [])
            here = {r.line for r in rows}
            for p in problems:
                target = p.row if p.row.line in here else last
                message = p.message if target is p.row else f"{p.message} ({_('line %(line)d') % {'line': p.row.line}})"
                target.error(p.field, p.kind, message)
        for row in rows:  # a rejected row makes the later rows of its order rejected (all or nothing)
            number = _number(row)
            if not row.ok:
                bad_groups.setdefault(number, row.line)
            elif number in bad_groups and bad_groups[number] != row.line:
                row.error("number", ImportErrorKind.INVALID, _rejected_message(bad_groups[number], number))

    def _rejected_before(self, rows: list[ImportRow], ctx: ImportContext) -> None:
        """While validating: a row whose order has an earlier row that never reached match() (the engine
        rejected it: a bad cell, an unknown product) is rejected too, so a dry run shows it."""
        seen: set[int] = ctx.memo.setdefault("order_seen", set())
        seen.update(row.line for row in rows)
        groups = self._file_groups(rows, ctx)
        for row in rows:
            number = _number(row)
            missed = [line for line in groups.get(number, []) if line < row.line and line not in seen]
            if missed:
                row.error("number", ImportErrorKind.INVALID, _rejected_message(missed[0], number))

    @staticmethod
    def _lines_of(orders: list[Order]) -> dict[int, list[OrderLine]]:
        out: dict[int, list[OrderLine]] = defaultdict(list)
        if orders:
            for line in OrderLine.objects.filter(order__in=orders).order_by("id"):
                out[line.order_id].append(line)
        return out

    # --- the file: which lines make an order ---------------------------------------------------------------

    def _step(self, rows: list[ImportRow], ctx: ImportContext) -> Any:
        from kamcrm.exchange.import_files import open_table
        from kamcrm.exchange.importing import compile_steps

        job = ctx.job
        table = open_table(Path(settings.KAMCRM_IMPORT_DIR) / str(job.pk) / job.file_path, job.file_format)
        step = ctx.memo.get("order_step")
        if step is None:
            step = ctx.memo["order_step"] = compile_steps(job.steps, table.headers)[rows[0].step]
        return table, step

    def _file_groups(self, rows: list[ImportRow], ctx: ImportContext) -> dict[str, list[int]]:
        """Order number → the lines of the file with that number (read once per run)."""
        memo = ctx.memo.get("order_file_groups")
        if memo is not None:
            return memo
        groups: dict[str, list[int]] = defaultdict(list)
        if ctx.job is None:
            for row in rows:
                groups[_number(row)].append(row.line)
        else:
            from kamcrm.exchange.importing import _map_row

            table, step = self._step(rows, ctx)
            for line, cells in table.rows():
                number = _number(_map_row(step, line, cells))
                if number:
                    groups[number].append(line)
        ctx.memo["order_file_groups"] = groups
        return groups

    def _load(self, lines: set[int], rows: list[ImportRow], ctx: ImportContext) -> list[ImportRow]:
        """The rows of the file at `lines` (an order's rows outside this batch), mapped and checked."""
        from kamcrm.exchange.importing import _map_row, _resolve_refs

        table, step = self._step(rows, ctx)
        loaded = [_map_row(step, line, cells) for line, cells in table.rows() if line in lines]
        _resolve_refs(step, loaded, ctx, writing=True, pending=lambda *args: False)
        for row in loaded:
            if row.ok:
                self._check_cells(row)
        return loaded

    # --- writing -------------------------------------------------------------------------------------------

    def write(self, rows: list[ImportRow], ctx: ImportContext) -> None:
        if not rows:
            return
        groups = self._file_groups(rows, ctx)
        by_number: dict[str, list[ImportRow]] = defaultdict(list)
        for row in rows:
            by_number[_number(row)].append(row)
        wanted = {line for number in by_number for line in groups.get(number, [])}
        rejected = set(ImportRowError.objects.filter(job=ctx.job, line__in=wanted).values_list("line", flat=True)) \
            if ctx.job is not None and wanted else set()
        refused: dict[str, int] = ctx.memo.setdefault("order_refused", {})
        # Orders written by an earlier batch of this run (keyed by the cursor before that batch: a batch
        # written again after a refused row writes its orders again, its first try was rolled back).
        done: dict[str, tuple[int, str, Order]] = ctx.memo.setdefault("order_done", {})
        cursor = ctx.job.cursor_line if ctx.job is not None else 0
        here = {row.line for row in rows}
        for number, group in by_number.items():
            if number in refused:
                raise RowProblem(group[0], "number", _rejected_message(refused[number], number))
            if number in done and done[number][0] != cursor:
                for row in group:
                    row.existing, row.status = done[number][2], done[number][1]
                continue
            lines = groups.get(number) or [row.line for row in group]
            bad = sorted((rejected & set(lines)) - here)
            if bad:
                raise RowProblem(group[0], "number", _rejected_message(bad[0], number))
            outside = set(lines) - here
            full = sorted(group + (self._load(outside, rows, ctx) if outside else []), key=lambda r: r.line)
            for row in full:
                if not row.ok:
                    refused[number] = row.line
                    raise RowProblem(group[0], "number", _rejected_message(row.line, number))
            try:
                order, status = self._write_group(number, full, group[0].existing, ctx)
            except _Refused as exc:
                p = exc.problem
                refused[number] = p.row.line
                if p.row.line in here:
                    raise RowProblem(p.row, p.field, p.message, p.kind) from None
                raise RowProblem(group[0], "number", f"{_rejected_message(p.row.line, number)} {p.message}") from None
            done[number] = (cursor, status, order)
            for row in group:
                row.existing, row.status = order, status

    def _write_group(self, number: str, rows: list[ImportRow], existing: Order | None, ctx: ImportContext
                     ) -> tuple[Order, str]:
        if existing is not None:
            existing = Order.objects.select_for_update().get(pk=existing.pk)
        first: tuple | None = None
        for row in rows:
            first = self._merge(row, first, number)
            if not row.ok:
                raise _Refused(Problem(row, *row.errors[0][:2], row.errors[0][2]))
        header = first[1]
        for row in rows:
            row.existing = existing
        lookups = self._lookups(rows, [header], ctx)
        for index, row in enumerate(rows):
            problems = self._check_header(row, {**header}, existing, lookups, ctx, first=index == 0)
            if problems:
                raise _Refused(problems[0])
        current = list(existing.lines.order_by("id")) if existing is not None else []
        plan, problems = self._plan(number, rows, header, existing, current)
        if problems:
            raise _Refused(problems[0])
        by = ctx.user if ctx.user is not None and getattr(ctx.user, "pk", None) else None
        try:
            if existing is None:
                return self._create(number, header, plan, lookups, ctx, by), "created"
            return existing, ("updated" if self._update(existing, header, plan, lookups, ctx) else "unchanged")
        except ValidationError as exc:
            name, messages = next(iter(validation_error_dict(exc).items()))
            target = rows[0]
            if name.startswith("lines[") and plan.lines:
                index = int(name[6:].split("]")[0]) - 1
                target = plan.lines[min(max(index, 0), len(plan.lines) - 1)][0]
                name = LINE_ERROR_FIELDS.get(messages[0].split(":")[0], "quantity")
            elif name not in {f.name for f in self.fields}:
                name = "number"
            raise _Refused(Problem(target, name, ImportErrorKind.INVALID, "; ".join(messages))) from None

    def _create(self, number: str, header: dict[str, Any], plan: Plan, lookups: dict[str, Any], ctx: ImportContext,
                by: User | None) -> Order:
        extra: dict[str, Any] = {}
        if header.get("status") == OrderStatus.CANCELLED:
            extra["status"] = OrderStatus.CANCELLED
        if header.get("external_id"):
            extra.update(source_system=ctx.source_system, external_id=header["external_id"])
        products = Product.objects.in_bulk({line["product"] for _row, line, _same in plan.lines})
        return services.order_create(
            by=by, account=Account.objects.get(pk=header["account"]), number=number,
            ordered_on=header["ordered_on"], owner=lookups["owners"][header["owner"]],
            agreement=lookups["agreements"].get(header.get("agreement")),
            lines=[{"product": products[line["product"]], "quantity": line["quantity"],
                    "unit_price": line["unit_price"], "delivered_quantity": line["delivered"]}
                   for _row, line, _same in plan.lines], **extra)

    def _update(self, order: Order, header: dict[str, Any], plan: Plan, lookups: dict[str, Any],
                ctx: ImportContext) -> bool:
        """The order's cells and lines as the file has them (the rules of order_create and order_deliver);
        whether anything changed."""
        data: dict[str, Any] = {}
        if header.get("ordered_on"):
            data["ordered_on"] = header["ordered_on"]
        if header.get("owner") is not None:
            data["owner"] = lookups["owners"][header["owner"]]
        if header.get("agreement") is not None:
            data["agreement"] = lookups["agreements"][header["agreement"]]
        if header.get("external_id") and not order.external_id:
            data.update(source_system=ctx.source_system, external_id=header["external_id"])
        _order, changed = model_update(instance=order, data=data,
                                       fields=["ordered_on", "owner", "agreement", "source_system", "external_id"])
        if plan.replace:
            for _row, line, same in plan.lines:
                values = {"quantity": line["quantity"], "unit_price": line["unit_price"],
                          "amount": (line["quantity"] * line["unit_price"]).quantize(sched.CENT),
                          "delivered_quantity": line["delivered"]}
                if same is None:
                    new = OrderLine(order=order, product_id=line["product"], **values)
                    new.full_clean(exclude=["order"])
                    new.save()
                    changed = True
                elif any(getattr(same, k) != v for k, v in values.items()):
                    for k, v in values.items():
                        setattr(same, k, v)
                    same.full_clean(exclude=["order"])
                    same.save(update_fields=list(values))
                    changed = True
            for gone in plan.removed:
                gone.delete()
                changed = True
        lines = list(order.lines.all())
        total = sum((line.amount for line in lines), ZERO)
        _order, moved = model_update(instance=order, fields=["total", "status"],
                                     data={"total": total, "status": plan.status})
        return changed or moved


register(OrderImport())

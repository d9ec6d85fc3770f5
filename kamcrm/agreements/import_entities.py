"""Agreements through the import framework (kamcrm/exchange/importing.py): one row per agreement line.

Rows are grouped by their agreement number. The first row of an agreement names it (account, title,
type, owner, dates, the status to reach: draft or signed); later rows of the same agreement may leave
those cells empty, and a value that differs from the first row's is an error on that cell. Every line is
checked as agreements.services checks it (dates within the agreement's, value, the revenue rule can
split it) while validating, so a dry run reports each bad row with its line and column.

All or nothing per agreement: an agreement is written only if none of its rows is rejected. A row
rejected while validating makes the other rows of its agreement rejected too when the file is written
("line N of this agreement is rejected"); a row the services refuse while writing does the same. The
agreement is created through agreements.services (a draft with its lines) and signed, when the file
says so, once its last row is written, so it gets its revenue schedule, timeline entry, audit and
facts as any other. An agreement whose rows straddle two write batches is a draft until the batch with
its last row signs it.

Matching: by agreement number (or by (source system, external id)). Re-importing the same file adds
nothing: a row whose line is already on the agreement (same product, value, dates and rule) is
"unchanged". New lines may be added to a draft; a signed agreement changes by amendment, not by import.
Anyone signed in may import; each row is checked against the importer's reach (kind "permission").
"""
from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kamcrm.agreements import schedule as sched
from kamcrm.agreements import services
from kamcrm.agreements.choices import AgreementStatus, AgreementType, BillingCycle, Rule
from kamcrm.agreements.models import Agreement, AgreementLine
from kamcrm.core.services import validation_error_dict
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
    Ref,
    RowProblem,
    norm,
    register,
)
from kamcrm.exchange.models import ImportErrorKind, ImportRowError, ImportStatus
from kamcrm.org.models import User
from kamcrm.org.selectors import is_administrator
from kamcrm.products.import_entities import PRODUCT_REF
from kamcrm.products.models import Product

__all__ = ["AgreementImport"]

# Orders, recognised revenue and invoices refer to agreements by these keys.
AGREEMENT_REF = Ref(Agreement, ("number", "external_id"))


class TargetStatus(models.TextChoices):
    """The status an imported agreement reaches (the others come from the agreement's later life)."""

    DRAFT = "draft", AgreementStatus.DRAFT.label
    SIGNED = "signed", AgreementStatus.SIGNED.label


TYPE_WORDS = {"框架": AgreementType.FRAMEWORK, "框架合同": AgreementType.FRAMEWORK, "服务": AgreementType.SERVICE,
              "服务合同": AgreementType.SERVICE, "项目": AgreementType.PROJECT, "项目合同": AgreementType.PROJECT}
STATUS_WORDS = {"草稿": TargetStatus.DRAFT, "签署": TargetStatus.SIGNED, "已签": TargetStatus.SIGNED,
                "已签约": TargetStatus.SIGNED, "active": TargetStatus.SIGNED, "生效": TargetStatus.SIGNED}
CYCLE_WORDS = {"月": BillingCycle.MONTHLY, "季": BillingCycle.QUARTERLY, "季度": BillingCycle.QUARTERLY,
               "年": BillingCycle.YEARLY, "年度": BillingCycle.YEARLY, "一次": BillingCycle.ONE_OFF,
               "按量": BillingCycle.USAGE, "按用量": BillingCycle.USAGE}
RULE_WORDS = {"按月": Rule.MONTHLY, "月均": Rule.MONTHLY, "按天": Rule.DAILY, "按日": Rule.DAILY,
              "一次性": Rule.ONE_OFF, "里程碑": Rule.MILESTONE, "用量": Rule.USAGE}
# The agreement's own cells: the first row of an agreement names them, later rows repeat them or leave them empty.
HEADER = ("account", "title", "type", "status", "owner", "start_date", "end_date", "signed_on", "external_id")
NEEDED_FOR_NEW = ("account", "title", "owner", "start_date", "end_date")
# Which cell an error of agreements.services about a line (field name → mapped field) is about.
LINE_ERROR_FIELDS = {"start_date": "line_start", "end_date": "line_end", "end": "line_end", "start": "line_start",
                     "amount": "amount", "quantity": "quantity", "unit_price": "unit_price", "rule": "rule",
                     "billing_cycle": "billing_cycle", "delivery_date": "delivery_date", "product": "product"}


def _number(row: ImportRow) -> str:
    return str(row.values.get("number") or "").strip()


def _line_column(row: ImportRow, key: str) -> str:
    """The field an error of agreements.services about a line belongs on, among those the file maps."""
    name = LINE_ERROR_FIELDS.get(key, "amount")
    if name in ("line_start", "line_end"):
        candidates = (name, "line_end" if name == "line_start" else "line_start",
                      "start_date" if name == "line_start" else "end_date")
    elif name in ("amount", "unit_price", "quantity"):
        candidates = (name, "amount", "unit_price", "quantity")
    else:
        candidates = (name,)
    return next((c for c in candidates if row.columns.get(c)), name)


class AgreementImport(ImportEntity):
    name = "agreement"
    label = gettext_lazy("agreements")
    model = Agreement
    file_keys = ("number", "external_id")
    fields = (
        FieldSpec("number", gettext_lazy("agreement number"), required=True, max_length=60,
                  help=gettext_lazy("Rows with the same number are the lines of one agreement.")),
        FieldSpec("account", gettext_lazy("account"), REF, ref=ACCOUNT_REF,
                  help=gettext_lazy("Needed for a new agreement: the account's external id, credit code or name.")),
        FieldSpec("title", gettext_lazy("title"), max_length=200, help=gettext_lazy("Needed for a new agreement.")),
        FieldSpec("type", gettext_lazy("type"), CHOICE, choices=AgreementType, words=TYPE_WORDS,
                  help=gettext_lazy("Framework, service or project; service when empty.")),
        FieldSpec("status", gettext_lazy("status"), CHOICE, choices=TargetStatus, words=STATUS_WORDS,
                  help=gettext_lazy("Draft, or signed (the revenue schedule is written); draft when empty.")),
        FieldSpec("owner", gettext_lazy("owner"), REF, ref=USER_REF,
                  help=gettext_lazy("Needed for a new agreement: a username, e-mail, external id or display name.")),
        FieldSpec("start_date", gettext_lazy("start date"), DATE, help=gettext_lazy("Needed for a new agreement.")),
        FieldSpec("end_date", gettext_lazy("end date"), DATE, help=gettext_lazy("Needed for a new agreement.")),
        FieldSpec("signed_on", gettext_lazy("signed on"), DATE,
                  help=gettext_lazy("For a signed agreement; the day of the import when empty.")),
        FieldSpec("product", gettext_lazy("product"), REF, required=True, ref=PRODUCT_REF,
                  help=gettext_lazy("The line's product: its code, name or external id.")),
        FieldSpec("quantity", gettext_lazy("quantity"), DECIMAL, help=gettext_lazy("1 when empty.")),
        FieldSpec("unit_price", gettext_lazy("unit price"), DECIMAL,
                  help=gettext_lazy("The value ÷ quantity when empty.")),
        FieldSpec("amount", gettext_lazy("value"), DECIMAL,
                  help=gettext_lazy("The line's value over its period; quantity × unit price when empty.")),
        FieldSpec("billing_cycle", gettext_lazy("billing cycle"), CHOICE, choices=BillingCycle, words=CYCLE_WORDS),
        FieldSpec("rule", gettext_lazy("revenue rule"), CHOICE, choices=Rule, words=RULE_WORDS,
                  help=gettext_lazy("How the value is split into months; straight-line by month when empty.")),
        FieldSpec("line_start", gettext_lazy("line start date"), DATE,
                  help=gettext_lazy("The agreement's start date when empty.")),
        FieldSpec("line_end", gettext_lazy("line end date"), DATE,
                  help=gettext_lazy("The agreement's end date when empty.")),
        FieldSpec("delivery_date", gettext_lazy("delivery date"), DATE, help=gettext_lazy("For the one-off rule.")),
        FieldSpec("external_id", gettext_lazy("external id"), max_length=100,
                  help=gettext_lazy("The agreement's id in the source system (the same on each of its rows).")),
    )

    def permitted(self, user) -> bool:  # noqa: ANN001
        return user is None or user.is_authenticated

    def duplicate_keys(self, row: ImportRow) -> list[tuple[str, Any]]:
        return []  # many rows share an agreement number by design; identical lines are allowed

    # --- validation (both passes) ----------------------------------------------------------------------

    def _existing(self, rows: list[ImportRow], ctx: ImportContext) -> dict[str, Agreement]:
        numbers = {_number(r) for r in rows if _number(r)}
        exts = {r.values["external_id"] for r in rows if r.values.get("external_id")}
        q = Q(number__in=numbers)
        if exts:
            q |= Q(source_system=ctx.source_system, external_id__in=exts)
        found = {}
        for agreement in Agreement.objects.filter(q).select_related("account"):
            found[agreement.number] = agreement
            if agreement.external_id and agreement.source_system == ctx.source_system:
                found[f"\x1fext:{agreement.external_id}"] = agreement
        return found

    def _header(self, row: ImportRow, existing: Agreement | None, ctx: ImportContext) -> dict[str, Any]:
        """The agreement's cells for this row's agreement: the first row's, checked against this row's."""
        headers = ctx.memo.setdefault("agreement_headers", {})
        number = _number(row)
        first = headers.get(number)
        if first is None and existing is not None:
            first = (0, {"account": existing.account_id, "title": existing.title, "type": existing.type,
                         "owner": existing.owner_id, "start_date": existing.start_date,
                         "end_date": existing.end_date, "external_id": existing.external_id or None})
        if first is None:
            first = (row.line, {k: row.values.get(k) for k in HEADER})
            headers[number] = first
            return dict(first[1])
        line, known = first
        merged = dict(known)
        for name in HEADER:
            value = row.values.get(name)
            if value in (None, ""):
                continue
            if known.get(name) in (None, ""):
                merged[name] = value
                if line:
                    known[name] = value
            elif known[name] != value and name not in ("status", "signed_on"):
                where = (_("line %(line)d") % {"line": line}) if line else _("the agreement already imported")
                row.error(name, ImportErrorKind.INVALID,
                          _("Agreement %(number)s has another value here in %(where)s (“%(value)s”).")
                          % {"number": number, "where": where, "value": known[name]})
        return merged

    def _line(self, row: ImportRow, header: dict[str, Any], products: dict[int, Product]) -> dict[str, Any]:
        v = row.values
        quantity = v.get("quantity") if v.get("quantity") is not None else Decimal("1")
        line: dict[str, Any] = {"product": products.get(v.get("product")), "quantity": quantity}
        if v.get("amount") is not None:
            line["amount"] = v["amount"]
        if v.get("unit_price") is not None:
            line["unit_price"] = v["unit_price"]
        elif v.get("amount") is not None and quantity:
            line["unit_price"] = (v["amount"] / quantity).quantize(sched.CENT)
        for name in ("billing_cycle", "rule", "delivery_date"):
            if v.get(name):
                line[name] = v[name]
        line["start_date"] = v.get("line_start") or header.get("start_date")
        line["end_date"] = v.get("line_end") or header.get("end_date")
        return line

    @staticmethod
    def _signature(line: dict[str, Any] | AgreementLine) -> tuple:
        if isinstance(line, AgreementLine):
            return (line.product_id, Decimal(line.amount).quantize(sched.CENT), line.start_date, line.end_date,
                    line.rule)
        amount = line.get("amount")
        if amount is None:
            amount = Decimal(str(line.get("quantity") or 1)) * Decimal(str(line.get("unit_price") or 0))
        return (line["product"].pk, Decimal(amount).quantize(sched.CENT), line["start_date"], line["end_date"],
                line.get("rule") or Rule.MONTHLY)

    def _rejected_before(self, rows: list[ImportRow], ctx: ImportContext) -> None:
        """While validating: a row whose agreement has an earlier row that never reached match() (the engine
        rejected it: a bad cell, an unknown product) is rejected too, so a dry run shows it."""
        if ctx.job is None or ctx.job.status != ImportStatus.VALIDATING:
            return  # writing: the rejected rows are in the job's errors (see write())
        seen: set[int] = ctx.memo.setdefault("agreement_seen", set())
        seen.update(row.line for row in rows)
        groups = self._file_groups(rows, ctx)
        for row in rows:
            number = _number(row)
            missed = [line for line in groups.get(number, []) if line < row.line and line not in seen]
            if missed:
                row.error("number", ImportErrorKind.INVALID, _("Not imported: line %(line)d of agreement %(number)s "
                                                               "is rejected (an agreement is imported whole or not "
                                                               "at all).") % {"line": missed[0], "number": number})

    def match(self, rows: list[ImportRow], ctx: ImportContext) -> None:
        self._rejected_before(rows, ctx)
        existing = self._existing(rows, ctx)
        products = Product.objects.in_bulk({r.values["product"] for r in rows if isinstance(r.values.get("product"),
                                                                                              int)})
        bad_groups: dict[str, int] = ctx.memo.setdefault("agreement_bad", {})
        lines_of = self._lines_of([a for k, a in existing.items() if not k.startswith("\x1f")])
        consumed: dict[int, set[int]] = defaultdict(set)
        for row in rows:
            if not row.ok:
                continue
            v = row.values
            number = _number(row)
            found = existing.get(number)
            by_ext = existing.get(f"\x1fext:{v['external_id']}") if v.get("external_id") else None
            if by_ext is not None and found is not None and by_ext.pk != found.pk:
                row.error("external_id", ImportErrorKind.INVALID,
                          _("This external id belongs to agreement %(other)s, not %(number)s.")
                          % {"other": by_ext.number, "number": number})
                continue
            if by_ext is not None and found is None:
                row.error("number", ImportErrorKind.INVALID,
                          _("The agreement with this external id is numbered %(other)s.") % {"other": by_ext.number})
                continue
            row.existing = found
            header = self._header(row, found, ctx)
            if not row.ok:
                continue
            if found is None:
                for name in NEEDED_FOR_NEW:
                    if header.get(name) in (None, ""):
                        row.error(name, ImportErrorKind.MISSING, _("A new agreement needs a value here."))
                if not row.ok:
                    continue
            if header.get("start_date") and header.get("end_date") and header["end_date"] < header["start_date"]:
                row.error("end_date", ImportErrorKind.INVALID, _("The end date is before the start date."))
                continue
            for name in ("quantity", "unit_price", "amount"):
                if v.get(name) is not None and v[name] < 0:
                    row.error(name, ImportErrorKind.INVALID, _("This cannot be negative."))
            if v.get("amount") is None and v.get("unit_price") is None:
                row.error("amount", ImportErrorKind.MISSING, _("Give the line's value or its unit price."))
            if not row.ok:
                continue
            line = self._line(row, header, products)
            v["_line"], v["_header"] = line, header
            if found is not None:
                same = next((x for x in lines_of.get(found.pk, []) if x.pk not in consumed[found.pk]
                             and self._signature(x) == self._signature(line)), None)
                if same is not None:
                    consumed[found.pk].add(same.pk)
                    v["_same"] = same.pk
                    continue
                if found.status not in services.EDITABLE_STATUSES:
                    row.error("number", ImportErrorKind.INVALID,
                              _("Agreement %(number)s is already %(status)s and has no such line; a signed "
                                "agreement changes by amendment, not by import.")
                              % {"number": number, "status": found.get_status_display()})
                    continue
            probe = Agreement(start_date=header["start_date"], end_date=header["end_date"])
            try:
                services._check_lines(probe, [line])
            except ValidationError as exc:
                for key, messages in validation_error_dict(exc).items():
                    row.error(_line_column(row, key.split(".")[-1]), ImportErrorKind.INVALID, "; ".join(messages))
        self._check_reach([r for r in rows if r.ok], ctx)
        for row in rows:  # a rejected row makes the later rows of its agreement rejected (all or nothing)
            number = _number(row)
            if not row.ok:
                bad_groups.setdefault(number, row.line)
            elif number in bad_groups and bad_groups[number] != row.line:
                row.error("number", ImportErrorKind.INVALID, _("Not imported: line %(line)d of agreement %(number)s "
                                                               "is rejected (an agreement is imported whole or not "
                                                               "at all).") % {"line": bad_groups[number],
                                                                              "number": number})

    @staticmethod
    def _lines_of(agreements: list[Agreement]) -> dict[int, list[AgreementLine]]:
        out: dict[int, list[AgreementLine]] = defaultdict(list)
        if agreements:
            for line in AgreementLine.objects.filter(agreement__in=agreements).order_by("id"):
                out[line.agreement_id].append(line)
        return out

    def _check_reach(self, rows: list[ImportRow], ctx: ImportContext) -> None:
        user = ctx.user
        if user is None or is_administrator(user):
            return
        accounts = {r.values["_header"].get("account") for r in rows if r.existing is None}
        accounts |= {r.existing.account_id for r in rows if r.existing is not None}
        editable = _may_edit(user, {a for a in accounts if isinstance(a, int)})
        assignable: dict[int, bool] = ctx.memo.setdefault("assignable", {})
        owners = {u.pk: u for u in User.objects.filter(pk__in={r.values["_header"].get("owner") for r in rows
                                                               if isinstance(r.values["_header"].get("owner"), int)})
                  .select_related("unit")}
        for row in rows:
            header = row.values["_header"]
            account_id = row.existing.account_id if row.existing is not None else header.get("account")
            if isinstance(account_id, int) and account_id not in editable:
                row.error("account", ImportErrorKind.PERMISSION, _("You may not edit this account's agreements."))
                continue
            owner = owners.get(header.get("owner"))
            if row.existing is None and owner is not None:
                if owner.pk not in assignable:
                    assignable[owner.pk] = owner_assignable(by=user, owner=owner)
                if not assignable[owner.pk]:
                    row.error("owner", ImportErrorKind.PERMISSION,
                              _("The owner must be you or someone whose accounts you may edit."))

    # --- writing -------------------------------------------------------------------------------------------

    def _file_groups(self, rows: list[ImportRow], ctx: ImportContext) -> dict[str, list[int]]:
        """Agreement number → the lines of the file with that number (read once per run), so that a batch
        knows whether it holds an agreement's last row and which rows of it were rejected."""
        memo = ctx.memo.get("agreement_file_groups")
        if memo is not None:
            return memo
        from kamcrm.exchange.import_files import open_table
        from kamcrm.exchange.importing import compile_steps

        job = ctx.job
        groups: dict[str, list[int]] = defaultdict(list)
        if job is not None:
            table = open_table(Path(settings.KAMCRM_IMPORT_DIR) / str(job.pk) / job.file_path, job.file_format)
            step = compile_steps(job.steps, table.headers)[rows[0].step]
            fmap = step.fields["number"]
            for line, cells in table.rows():
                raw: Any = cells[fmap.index] if fmap.index is not None and fmap.index < len(cells) else ""
                if raw in (None, ""):
                    raw = fmap.value if fmap.index is None else fmap.default
                raw = "" if raw is None else str(raw)
                if fmap.values:
                    raw = str(fmap.values.get(norm(raw), raw))
                if fmap.transform == "upper":
                    raw = raw.upper()
                elif fmap.transform == "lower":
                    raw = raw.lower()
                number = (fmap.prefix + raw).strip() if raw.strip() else ""
                if number:
                    groups[number].append(line)
        ctx.memo["agreement_file_groups"] = groups
        return groups

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
        refused: dict[str, int] = ctx.memo.setdefault("agreement_refused", {})
        here = {row.line for row in rows}
        for number, group in by_number.items():
            bad = sorted((rejected | ({refused[number]} if number in refused else set())) & set(groups.get(number, [])))
            bad = [line for line in bad if line not in here]
            if bad:
                raise RowProblem(group[0], "number", _("Not imported: line %(line)d of agreement %(number)s is "
                                                       "rejected (an agreement is imported whole or not at all).")
                                 % {"line": bad[0], "number": number})
            last = max(groups.get(number) or [group[-1].line])
            self._write_group(number, group, ctx, complete=last in here, refused=refused)

    def _write_group(self, number: str, group: list[ImportRow], ctx: ImportContext, *, complete: bool,
                     refused: dict[str, int]) -> None:
        agreement = group[0].existing
        header = group[-1].values["_header"]
        new = [row for row in group if "_same" not in row.values]
        by = ctx.user if ctx.user is not None and getattr(ctx.user, "pk", None) else None
        try:
            if agreement is None:
                accounts = Account.objects.in_bulk([header["account"]])
                owner = User.objects.select_related("unit").get(pk=header["owner"])
                extra: dict[str, Any] = {"type": header.get("type") or AgreementType.SERVICE}
                if header.get("external_id"):
                    extra.update(source_system=ctx.source_system, external_id=header["external_id"])
                agreement = services.agreement_create(
                    by=by, account=accounts[header["account"]], number=number, title=header["title"], owner=owner,
                    start_date=header["start_date"], end_date=header["end_date"],
                    lines=[row.values["_line"] for row in new], **extra)
            elif new:
                kept = [{name: getattr(line, name) for name in services.LINE_FIELDS}
                        for line in agreement.lines.order_by("id")]
                agreement = services.agreement_update(agreement=agreement, by=by,
                                                      data={"lines": kept + [row.values["_line"] for row in new]})
            if complete and (header.get("status") == TargetStatus.SIGNED
                             and agreement.status in services.EDITABLE_STATUSES):
                services.agreement_sign(agreement=agreement, by=by, signed_on=header.get("signed_on"))
        except ValidationError as exc:
            name, messages = next(iter(validation_error_dict(exc).items()))
            target = group[0]
            parts = name.split(".")
            if parts[0] == "lines" and len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(new):
                target = new[int(parts[1])]
                name = _line_column(target, parts[2])
            elif name not in {f.name for f in self.fields}:
                name = "number"
            refused[number] = target.line
            raise RowProblem(target, name, "; ".join(messages)) from None
        for row in group:
            row.existing = agreement
            row.status = "unchanged" if "_same" in row.values else "created"


register(AgreementImport())

# Sales orders and recognised revenue have modules of their own; importing them here registers them.
from kamcrm.agreements import import_orders, import_recognition  # noqa: E402, F401

"""Opportunities through the import framework (kamcrm/exchange/importing.py).

Anyone signed in may import; every row is checked against the importer's reach as accounts are: a
row on an account they may not edit, or giving the opportunity to an owner they may not assign, is
rejected with kind "permission".

Matching: (source system, external id); a row without an external id matches the one opportunity of
its account with that name. New opportunities are written in bulk (a few INSERTs per batch: Maven's
8,800 deals take about 15 s of CPU on SQLite instead of about 2 minutes through the services one by
one), keeping what kamcrm.sales.services keeps: owner's unit, amount = sum of the lines, the stage's
default probability, one history entry per stage entered, the timeline entries, the audit entries
and the webhook events; the checks the services make are made in match() (so a dry run is exact).
Changes to existing opportunities go through opportunity_update / opportunity_move row by row.

A source's history is replayed with the dates it gives: `created_date` is when the opportunity was
obtained (it enters `created_stage`, by default the first open stage, then), `stage_date` when it
entered its current stage (for a closed stage the closing date stands in when it is empty). With
both, the opportunity is created back-dated and moved at `stage_date` without the exit and entry
checks (the source's history happened as it did); with one date or none it is created directly in
its stage, and the stage's required fields apply.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kamcrm.audit.models import TimelineEvent
from kamcrm.audit.registry import record_bulk, snapshot
from kamcrm.core.attributes import clean_attributes
from kamcrm.core.services import validation_error_dict
from kamcrm.customers.import_entities import ACCOUNT_REF, USER_REF, _may_edit
from kamcrm.customers.models import Account
from kamcrm.customers.services import owner_assignable
from kamcrm.exchange.import_specs import (
    CHOICE,
    DATE,
    DECIMAL,
    INT,
    REF,
    FieldSpec,
    ImportContext,
    ImportEntity,
    ImportRow,
    RowProblem,
    norm,
    register,
)
from kamcrm.exchange.models import ImportErrorKind
from kamcrm.org.models import User
from kamcrm.org.selectors import is_administrator
from kamcrm.products.import_entities import PRODUCT_REF
from kamcrm.products.models import Product
from kamcrm.sales import rollup, services
from kamcrm.sales.choices import OpportunitySource, StageKind
from kamcrm.sales.models import Opportunity, OpportunityLine, OpportunityStageChange, Stage
from kamcrm.webhooks import services as webhooks

SOURCE_WORDS = {"市场活动": OpportunitySource.CAMPAIGN, "活动": OpportunitySource.CAMPAIGN,
                "线索导入": OpportunitySource.LEAD_IMPORT, "转介绍": OpportunitySource.REFERRAL,
                "合作伙伴": OpportunitySource.PARTNER, "渠道": OpportunitySource.PARTNER,
                "客户来电": OpportunitySource.INBOUND, "主动咨询": OpportunitySource.INBOUND,
                "客户规划": OpportunitySource.ACCOUNT_PLAN, "其他": OpportunitySource.OTHER}
# Plain fields an import sets (opportunity_create's and opportunity_update's).
PLAIN = ("name", "probability", "expected_close_date", "source", "competitor", "lost_reason", "description")
ENTRY_TIME = dt.time(12, 0)  # a date from a source becomes midday, local time


def _at(day: dt.date | None) -> dt.datetime | None:
    return timezone.make_aware(dt.datetime.combine(day, ENTRY_TIME)) if day else None


class OpportunityImport(ImportEntity):
    name = "opportunity"
    label = gettext_lazy("opportunities")
    model = Opportunity
    attribute_entity = "opportunity"
    fields = (
        FieldSpec("account", gettext_lazy("account"), REF, ref=ACCOUNT_REF,
                  help=gettext_lazy("Needed for a new opportunity: the account's external id, credit code or name.")),
        FieldSpec("name", gettext_lazy("name"), max_length=200, help=gettext_lazy("Needed for a new opportunity.")),
        FieldSpec("owner", gettext_lazy("owner"), REF, ref=USER_REF,
                  help=gettext_lazy("Needed for a new opportunity: a username, e-mail, external id or display name.")),
        FieldSpec("stage", gettext_lazy("stage"),
                  help=gettext_lazy("A stage's code or its Chinese or English name; the first stage when empty.")),
        FieldSpec("amount", gettext_lazy("amount"), DECIMAL,
                  help=gettext_lazy("With a product, the line's amount (quantity × unit price).")),
        FieldSpec("probability", gettext_lazy("probability (%)"), INT,
                  help=gettext_lazy("The stage's default probability when empty.")),
        FieldSpec("expected_close_date", gettext_lazy("expected close date"), DATE),
        FieldSpec("closed_on", gettext_lazy("closed on"), DATE,
                  help=gettext_lazy("For won or lost opportunities: the day they closed.")),
        FieldSpec("source", gettext_lazy("source"), CHOICE, choices=OpportunitySource, words=SOURCE_WORDS),
        FieldSpec("competitor", gettext_lazy("competitor"), max_length=100),
        FieldSpec("lost_reason", gettext_lazy("reason lost or abandoned"), max_length=200),
        FieldSpec("description", gettext_lazy("description")),
        FieldSpec("product", gettext_lazy("product"), REF, ref=PRODUCT_REF,
                  help=gettext_lazy("One product line: the product's code, name or external id.")),
        FieldSpec("quantity", gettext_lazy("quantity"), DECIMAL, help=gettext_lazy("Of the product; 1 when empty.")),
        FieldSpec("unit_price", gettext_lazy("unit price"), DECIMAL,
                  help=gettext_lazy("Of the product; the amount ÷ quantity, else the list price, when empty.")),
        FieldSpec("stage_date", gettext_lazy("in this stage since"), DATE,
                  help=gettext_lazy("When the opportunity entered its current stage (for won or lost: the "
                                    "closing date when empty).")),
        FieldSpec("created_date", gettext_lazy("obtained on"), DATE,
                  help=gettext_lazy("When the opportunity was obtained: with the stage date, its history is "
                                    "back-dated.")),
        FieldSpec("created_stage", gettext_lazy("stage when obtained"),
                  help=gettext_lazy("The stage it entered on the date obtained; the first stage when empty.")),
        FieldSpec("external_id", gettext_lazy("external id"), max_length=100,
                  help=gettext_lazy("The record's id in the source system: importing again updates it.")),
    )

    def permitted(self, user) -> bool:  # noqa: ANN001
        # Anyone signed in; each row is then checked against their reach (as for accounts).
        return user is None or user.is_authenticated

    def duplicate_keys(self, row: ImportRow) -> list[tuple[str, Any]]:
        v = row.values
        if v.get("external_id"):
            return [("external_id", v["external_id"])]
        if v.get("account") and v.get("name"):
            return [("account+name", f"{v['account']}\x1f{v['name']}")]
        return []

    # --- validation ------------------------------------------------------------------------------------

    def _stages(self, ctx: ImportContext) -> dict[str, Stage]:
        table = ctx.memo.get("stages")
        if table is None:
            table = {}
            for stage in Stage.objects.order_by("order", "id"):
                for word in (stage.name_en, stage.name_zh, stage.code):  # codes win over names
                    table[norm(word)] = stage
            ctx.memo["stages"] = table
        return table

    def _stage(self, row: ImportRow, name: str, ctx: ImportContext) -> Stage | None:
        word = row.values.get(name)
        if not word:
            return None
        stage = self._stages(ctx).get(norm(word))
        if stage is None:
            row.error(name, ImportErrorKind.REFERENCE, _("No stage “%(v)s”: give a stage's code or its name.")
                      % {"v": word})
        elif not stage.is_active:
            row.error(name, ImportErrorKind.INVALID, _("The stage “%(s)s” is no longer in use.") % {"s": stage.label})
        return stage

    def _check_values(self, row: ImportRow) -> None:
        v = row.values
        if v.get("probability") is not None and not 0 <= v["probability"] <= 100:
            row.error("probability", ImportErrorKind.INVALID, _("A probability is between 0 and 100."))
        for name in ("amount", "unit_price"):
            if v.get(name) is not None and v[name] < 0:
                row.error(name, ImportErrorKind.INVALID, _("This cannot be negative."))
        if v.get("quantity") is not None and v["quantity"] <= 0:
            row.error("quantity", ImportErrorKind.INVALID, _("The quantity must be above zero."))
        if ("quantity" in v or "unit_price" in v) and "product" not in v:
            row.error("product", ImportErrorKind.MISSING, _("A quantity or unit price needs a product."))
        if v.get("product") and v.get("amount") is not None and v.get("unit_price") is not None:
            total = (v.get("quantity") or Decimal("1")) * v["unit_price"]
            if total.quantize(services.CENT) != v["amount"].quantize(services.CENT):
                row.error("amount", ImportErrorKind.INVALID,
                          _("The amount is the sum of the product lines: quantity × unit price is %(t)s.")
                          % {"t": total.quantize(services.CENT)})

    def _dates(self, row: ImportRow) -> tuple[dt.date | None, dt.date | None]:
        """(obtained on, in the current stage since), as the row gives them."""
        v = row.values
        stage_day = v.get("stage_date")
        stage = v.get("_stage")
        if stage is not None and stage.is_closed:
            closed = v.get("closed_on")
            if stage_day and closed and stage_day != closed:
                row.error("closed_on", ImportErrorKind.INVALID,
                          _("A won or lost opportunity closes on the day it entered its stage (%(d)s).")
                          % {"d": stage_day.isoformat()})
            stage_day = stage_day or closed
        created_day = v.get("created_date")
        if created_day and stage_day and created_day > stage_day:
            row.error("created_date", ImportErrorKind.INVALID,
                      _("The opportunity cannot be obtained after it entered its current stage (%(d)s).")
                      % {"d": stage_day.isoformat()})
        return created_day, stage_day

    def match(self, rows: list[ImportRow], ctx: ImportContext) -> None:
        first = None
        for row in rows:
            v = row.values
            v["_stage"] = self._stage(row, "stage", ctx)
            v["_created_stage"] = self._stage(row, "created_stage", ctx)
            if v["_created_stage"] is not None and v["_created_stage"].is_closed:
                row.error("created_stage", ImportErrorKind.INVALID, _("An opportunity is obtained in an open stage."))
            self._check_values(row)
        rows = [r for r in rows if r.ok]
        exts = {r.values["external_id"] for r in rows if r.values.get("external_id")}
        by_ext = ({o.external_id: o for o in Opportunity.objects.filter(source_system=ctx.source_system,
                                                                         external_id__in=exts).select_related("stage")}
                  if exts else {})
        plain = [r for r in rows if not r.values.get("external_id") and isinstance(r.values.get("account"), int)
                 and r.values.get("name")]
        by_name: dict[tuple[int, str], list[Opportunity]] = {}
        if plain:
            for o in Opportunity.objects.filter(account_id__in={r.values["account"] for r in plain},
                                                name__in={r.values["name"] for r in plain}).select_related("stage"):
                by_name.setdefault((o.account_id, o.name), []).append(o)
        for row in rows:
            v = row.values
            if v.get("external_id"):
                found = by_ext.get(v["external_id"])
            else:
                same = by_name.get((v.get("account"), v.get("name")), [])
                if len(same) > 1:
                    row.error("name", ImportErrorKind.DUPLICATE_EXISTING,
                              _("%(n)d opportunities of this account are called “%(v)s”; give an external id to say "
                                "which.") % {"n": len(same), "v": v["name"]})
                    continue
                found = same[0] if same else None
            row.existing = found
            created_day, stage_day = self._dates(row)
            if found is None:
                for name in ("account", "name", "owner"):
                    if name not in v and name not in [f for f, _k, _m in row.errors]:
                        row.error(name, ImportErrorKind.MISSING, _("A new opportunity needs a value here."))
                if first is None:
                    try:
                        first = services.first_stage()
                    except ValidationError as exc:
                        row.error("stage", ImportErrorKind.INVALID, "; ".join(exc.messages))
                        continue
                target = v["_stage"] or first
                start = v["_created_stage"] or first
                replay = bool(created_day and stage_day and start.pk != target.pk)
                self._check_required(row, start if replay else target)
            else:
                if isinstance(v.get("account"), int) and v["account"] != found.account_id:
                    row.error("account", ImportErrorKind.INVALID,
                              _("An opportunity stays with its account; create a new one instead."))
                target = v["_stage"]
                if target is not None and target.pk != found.stage_id and not stage_day:
                    self._check_required(row, target, found)
        self._check_reach([r for r in rows if r.ok], ctx)

    def _check_required(self, row: ImportRow, stage: Stage, existing: Opportunity | None = None) -> None:
        """The fields `stage` needs to be entered (a reason for lost, a close date for negotiation)."""
        for name in stage.required_fields or []:
            value = row.values.get(name)
            if value in (None, "") and existing is not None:
                value = getattr(existing, name, None)
            if value in (None, ""):
                field = Opportunity._meta.get_field(name)
                row.error(name, ImportErrorKind.MISSING, _("“%(stage)s” needs %(field)s.")
                          % {"stage": stage.label, "field": field.verbose_name})

    def _check_reach(self, rows: list[ImportRow], ctx: ImportContext) -> None:
        owners = self._users({r.values["owner"] for r in rows if isinstance(r.values.get("owner"), int)}, ctx)
        user = ctx.user
        limited = user is not None and not is_administrator(user)
        # (an account further down the file is not an id yet while validating: it is checked when written)
        accounts = {r.values["account"] for r in rows if isinstance(r.values.get("account"), int)}
        accounts |= {r.existing.account_id for r in rows if r.existing is not None}
        editable = _may_edit(user, accounts) if limited else accounts
        assignable = ctx.memo.setdefault("assignable", {})
        for row in rows:
            owner = owners.get(row.values.get("owner"))
            if owner is not None and not owner.unit_id:
                row.error("owner", ImportErrorKind.INVALID, _("The owner has no primary unit; assign one first."))
            if not limited:
                continue
            account_id = row.existing.account_id if row.existing is not None else row.values.get("account")
            if isinstance(account_id, int) and account_id not in editable:
                row.error("account", ImportErrorKind.PERMISSION,
                          _("You may not edit this account's opportunities."))
            elif owner is not None and (row.existing is None or owner.pk != row.existing.owner_id):
                if owner.pk not in assignable:
                    assignable[owner.pk] = owner_assignable(by=user, owner=owner)
                if not assignable[owner.pk]:
                    row.error("owner", ImportErrorKind.PERMISSION,
                              _("The owner must be you or someone whose accounts you may edit."))

    # --- writing ---------------------------------------------------------------------------------------

    def _users(self, ids: set[int], ctx: ImportContext) -> dict[int, User]:
        users = ctx.memo.setdefault("users", {})
        missing = ids - users.keys()
        if missing:
            users.update({u.pk: u for u in User.objects.filter(pk__in=missing).select_related("unit")})
        return users

    def _products(self, ids: set[int], ctx: ImportContext) -> dict[int, Product]:
        products = ctx.memo.setdefault("products", {})
        missing = ids - products.keys()
        if missing:
            products.update(Product.objects.in_bulk(missing))
        return products

    def _line(self, row: ImportRow, product: Product) -> dict[str, Any]:
        v = row.values
        quantity = v.get("quantity") or Decimal("1")
        price = v.get("unit_price")
        if price is None and v.get("amount") is not None:
            price = (v["amount"] / quantity).quantize(services.CENT)
        return {"product": product, "quantity": quantity, "unit_price": price}

    @staticmethod
    def _same_line(lines: list[OpportunityLine], line: dict[str, Any]) -> bool:
        if len(lines) != 1:
            return False
        current = lines[0]
        return (current.product_id == line["product"].pk and current.quantity == line["quantity"]
                and (line["unit_price"] is None or current.unit_price == line["unit_price"]))

    def write(self, rows: list[ImportRow], ctx: ImportContext) -> None:
        owners = self._users({r.values["owner"] for r in rows if r.values.get("owner")}, ctx)
        products = self._products({r.values["product"] for r in rows if r.values.get("product")}, ctx)
        accounts = Account.objects.in_bulk({r.values["account"] for r in rows if r.values.get("account")})
        lines: dict[int, list[OpportunityLine]] = {}
        for line in OpportunityLine.objects.filter(opportunity_id__in=[r.existing.pk for r in rows if r.existing]):
            lines.setdefault(line.opportunity_id, []).append(line)
        self._create_many([r for r in rows if r.existing is None], ctx, accounts, owners, products)
        for row in rows:
            if row.status == "created":
                continue
            try:
                self._update(row, ctx, owners, products, lines.get(row.existing.pk, []))
            except ValidationError as exc:
                name, messages = next(iter(validation_error_dict(exc).items()))
                if name.startswith("attributes."):
                    name = f"attr_{name.removeprefix('attributes.')}"
                elif name in ("lines", "__all__"):
                    name = "product" if name == "lines" else "name"
                raise RowProblem(row, name, "; ".join(messages)) from None

    def _data(self, row: ImportRow, ctx: ImportContext) -> dict[str, Any]:
        v = row.values
        data = {k: v[k] for k in PLAIN if k in v}
        if v.get("external_id"):
            data["source_system"], data["external_id"] = ctx.source_system, v["external_id"]
        attrs = {k[5:]: val for k, val in v.items() if k.startswith("attr_")}
        if attrs:
            data["attributes"] = attrs
        return data

    def _create_many(self, rows: list[ImportRow], ctx: ImportContext, accounts: dict[int, Account],
                     owners: dict[int, User], products: dict[int, Product]) -> None:
        """New opportunities in bulk, with what opportunity_create (and opportunity_move, for a replayed
        history) write one at a time: owner_unit from the owner, amount = the lines, the stage's default
        probability, closed_on, one history entry per stage entered (the earlier one with its time in
        stage), a "stage_change" timeline entry for each, the audit entries (create, and update for the
        move) and the opportunity.stage_changed webhook events."""
        first = services.first_stage()
        by = ctx.user if ctx.user is not None and ctx.user.pk else None
        plans = []
        for row in rows:
            v = row.values
            created_day, stage_day = self._dates(row)
            target = v["_stage"] or first
            start = v["_created_stage"] or first
            replay = bool(created_day and stage_day and start.pk != target.pk)
            data = self._data(row, ctx)
            try:
                data["attributes"] = clean_attributes("opportunity", data.get("attributes"))
            except ValidationError as exc:
                name, messages = next(iter(validation_error_dict(exc).items()))
                raise RowProblem(row, f"attr_{name.removeprefix('attributes.')}", "; ".join(messages)) from None
            lines = []
            if v.get("product"):
                try:
                    lines = services._line_rows([self._line(row, products[v["product"]])])
                except ValidationError as exc:
                    raise RowProblem(row, "product", "; ".join(exc.messages)) from None
            owner = owners[v["owner"]]
            entered = _at(created_day) if replay else (_at(stage_day or created_day) or timezone.now())
            opportunity = Opportunity(account=accounts[v["account"]], owner=owner, owner_unit_id=owner.unit_id,
                                      stage=start if replay else target, stage_entered_at=entered, **data)
            opportunity.name = (opportunity.name or "").strip()
            if v.get("amount") is not None:
                opportunity.amount = v["amount"]
            if lines:
                opportunity.amount = sum((line.amount for line in lines), Decimal("0"))
            final_probability = opportunity.probability
            if replay or opportunity.probability is None:
                opportunity.probability = opportunity.stage.default_probability
            final_reason = opportunity.lost_reason
            if replay:
                opportunity.lost_reason = ""
            elif target.is_closed:
                opportunity.closed_on = v.get("closed_on") or timezone.localdate(entered)
            created = snapshot(opportunity)
            hook_before = webhooks.record_snapshot(opportunity, services.PAYLOAD_FIELDS) if replay else None
            moved_at = _at(stage_day) if replay else None
            if replay:
                opportunity.stage = target
                opportunity.stage_entered_at = moved_at
                opportunity.probability = target.default_probability if final_probability is None else final_probability
                opportunity.closed_on = timezone.localdate(moved_at) if target.is_closed else None
                opportunity.lost_reason = final_reason if target.kind == StageKind.LOST or final_reason else ""
            plans.append((row, opportunity, lines, start if replay else target, entered, created, moved_at,
                          hook_before))
        if not plans:
            return
        Opportunity.objects.bulk_create([p[1] for p in plans])
        history: list[OpportunityStageChange] = []
        events: list[TimelineEvent] = []
        hooks: list[tuple[dict[str, Any], int]] = []
        new_lines: list[OpportunityLine] = []
        moved: list[Opportunity] = []
        create_diffs: dict[int, dict[str, list[Any]]] = {}
        move_diffs: dict[int, dict[str, list[Any]]] = {}
        content_type = ContentType.objects.get_for_model(Opportunity)
        for row, opportunity, lines, entry_stage, entered, created, moved_at, hook_before in plans:
            row.existing, row.status = opportunity, "created"
            created["id"] = opportunity.pk
            create_diffs[opportunity.pk] = {k: [None, val] for k, val in created.items() if val not in (None, "", [], {})}
            for line in lines:
                line.opportunity = opportunity
                new_lines.append(line)
            first_entry = self._entry(opportunity, entry_stage, None, entered, by, created)
            history.append(first_entry)
            events.append(self._event(opportunity, entry_stage, None, entered, by, created, content_type))
            if moved_at is not None:
                first_entry.left_at = moved_at
                first_entry.seconds_in_stage = max(0, int((moved_at - entered).total_seconds()))
                final = snapshot(opportunity)
                history.append(self._entry(opportunity, opportunity.stage, entry_stage, moved_at, by, final))
                events.append(self._event(opportunity, opportunity.stage, entry_stage, moved_at, by, final,
                                          content_type))
                move_diffs[opportunity.pk] = {k: [created.get(k), val] for k, val in final.items()
                                              if k != "id" and created.get(k) != val}
                moved.append(opportunity)
                payload = webhooks.record_payload(opportunity, services.PAYLOAD_FIELDS, before=hook_before)
                payload["from_stage"], payload["to_stage"] = entry_stage.code, opportunity.stage.code
                hooks.append((payload, opportunity.account_id))
        OpportunityLine.objects.bulk_create(new_lines)
        OpportunityStageChange.objects.bulk_create(history)
        rollup.added([p[1].pk for p in plans])
        TimelineEvent.objects.bulk_create(events)
        record_bulk([p[1] for p in plans], action="create", changes_for=lambda o: create_diffs[o.pk])
        if moved:
            record_bulk(moved, action="update", changes_for=lambda o: move_diffs[o.pk])
            webhooks.events_emit_many(type="opportunity.stage_changed", items=hooks)

    @staticmethod
    def _entry(opportunity: Opportunity, stage: Stage, from_stage: Stage | None, at: dt.datetime, by: User | None,
               state: dict[str, Any]) -> OpportunityStageChange:
        return OpportunityStageChange(
            opportunity=opportunity, from_stage=from_stage, to_stage=stage, changed_at=at, changed_by=by,
            amount=opportunity.amount, probability=state["probability"], owner_id=opportunity.owner_id,
            owner_unit_id=opportunity.owner_unit_id, expected_close_date=opportunity.expected_close_date)

    @staticmethod
    def _event(opportunity: Opportunity, stage: Stage, from_stage: Stage | None, at: dt.datetime, by: User | None,
               state: dict[str, Any], content_type: ContentType) -> TimelineEvent:
        """As sales.services._timeline writes it."""
        if from_stage is None:
            summary = _("Opportunity “%(name)s” created in “%(stage)s”")
        else:
            summary = _("Opportunity “%(name)s”: %(from)s → %(stage)s")
        return TimelineEvent(
            account_id=opportunity.account_id, occurred_at=at, kind=services.TIMELINE_KIND,
            summary=summary % {"name": opportunity.name, "from": from_stage.label if from_stage else "",
                               "stage": stage.label},
            actor=by, content_type=content_type, object_id=opportunity.pk,
            data={"from": from_stage.code if from_stage else None, "to": stage.code,
                  "amount": str(opportunity.amount), "probability": state["probability"]})

    def _update(self, row: ImportRow, ctx: ImportContext, owners: dict[int, User], products: dict[int, Product],
                lines: list[OpportunityLine]) -> None:
        v = row.values
        opportunity = row.existing  # read by match() in this batch's transaction
        _created_day, stage_day = self._dates(row)
        data = {k: val for k, val in self._data(row, ctx).items() if k not in ("source_system", "external_id")}
        target = v["_stage"]
        moving = target is not None and target.pk != opportunity.stage_id
        probability = data.pop("probability", None) if moving else data.get("probability")
        lost_reason = data.pop("lost_reason", None) if moving else data.get("lost_reason")
        changes: dict[str, Any] = {}
        for key, value in data.items():
            if key == "attributes":
                if any((opportunity.attributes or {}).get(k) != val for k, val in value.items()):
                    changes[key] = value
            elif getattr(opportunity, key) != value:
                changes[key] = value
        if v.get("owner") and v["owner"] != opportunity.owner_id:
            changes["owner"] = owners[v["owner"]]
        if v.get("product"):
            line = self._line(row, products[v["product"]])
            if not self._same_line(lines, line):
                changes["lines"] = [line]
        elif v.get("amount") is not None and v["amount"] != opportunity.amount:
            changes["amount"] = v["amount"]
        if changes:
            opportunity = services.opportunity_update(opportunity=opportunity, data=changes, by=ctx.user)
        if moving:
            opportunity = services.opportunity_move(opportunity=opportunity, stage=target, by=ctx.user,
                                                    at=_at(stage_day), check=not stage_day, probability=probability,
                                                    lost_reason=lost_reason)
        row.existing, row.status = opportunity, ("updated" if changes or moving else "unchanged")


register(OpportunityImport())

"""Every write to target plans (K7, issue 6; docs/decisions/0008-targets.md).

A plan is decomposed top down: the company's figures (`target_set` on the root unit) are split onto the
units below (`target_decompose`), each unit's onto its units or its people, and so on. Every split parent
has one unallocated line per metric and month, kept equal to parent − sum(children), so children plus
unallocated equal the parent. A parent changed after its split is flagged `out_of_balance` (its subtree
no longer adds up) until `target_rebalance` puts the difference into unallocated or re-splits it.

Approval runs per level (`plan_submit`, `plan_approve`, `plan_send_back`, each with a comment); the
company level's approval locks the plan. An edit after approval is made on a new version of the plan
(`plan_revise`), audited line by line; the approved version stays as it was.

All line writes are set-based (one bulk INSERT and one bulk UPDATE per call, audited with record_bulk),
so a decomposition costs the same handful of queries for 3 children or 300.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from kamcrm.audit.registry import record_bulk
from kamcrm.notifications.events import target_plan_approved, target_plan_sent_back
from kamcrm.org.choices import Role
from kamcrm.org.models import OrgUnit, User
from kamcrm.org.selectors import EDIT, manages_business_settings, reach
from kamcrm.targets.choices import PlanStatus, RebalanceMode, ReviewAction
from kamcrm.targets.models import Metric, TargetLine, TargetPlan, TargetReview

ZERO = Decimal("0")
CENT = Decimal("0.01")
MONTHS = range(1, 13)
K = TypeVar("K")
Node = OrgUnit | User
Amounts = Sequence[Decimal | int | str] | Mapping[int, Decimal | int | str]


# ---- pure helpers -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Split:
    """Shares of an amount, each rounded down to the quantum; `remainder` is what rounding left over
    (parts + remainder == amount exactly)."""

    parts: dict
    remainder: Decimal


def split_by_shares(amount: Decimal, shares: Mapping[K, Decimal | int], *, quantum: Decimal = CENT) -> Split:
    """Split `amount` in proportion to `shares` (non-negative weights), each part rounded down to the
    quantum (the cent, or 1 for counts). The rounding remainder is stated, not hidden in a part: the
    caller leaves it unallocated or gives it to whom it chooses. All-zero shares leave everything over."""
    amount = Decimal(amount).quantize(quantum)
    if any(Decimal(w) < 0 for w in shares.values()):
        raise ValidationError({"shares": _("Shares cannot be negative.")})
    total = sum((Decimal(w) for w in shares.values()), ZERO)
    if total <= 0:
        return Split({k: ZERO.quantize(quantum) for k in shares}, amount)
    parts = {k: (amount * Decimal(w) / total).quantize(quantum, rounding=ROUND_DOWN) for k, w in shares.items()}
    return Split(parts, amount - sum(parts.values(), ZERO))


def node_key(node: Node, product_line_id: int | None = None) -> str:
    base = f"p{node.pk}" if isinstance(node, User) else f"u{node.pk}"
    return f"{base}/l{product_line_id}" if product_line_id else base


def _node_fields(node: Node) -> dict[str, Any]:
    if isinstance(node, User):
        if not node.unit_id:
            raise ValidationError({"node": _("%(p)s belongs to no unit; give them one before setting a target.")
                                   % {"p": node}})
        unit = node.unit
        return {"unit_id": unit.pk, "person_id": node.pk, "level": unit.depth + 1}
    return {"unit_id": node.pk, "person_id": None, "level": node.depth}


def _months(amounts: Amounts, metric: Metric) -> dict[int, Decimal]:
    """{month: amount} from a list of 12 or a mapping of some months, checked against the metric's unit."""
    if isinstance(amounts, Mapping):
        items = {int(m): v for m, v in amounts.items()}
    else:
        if len(amounts) != 12:
            raise ValidationError({"amounts": _("Give twelve months, January to December.")})
        items = dict(zip(MONTHS, amounts, strict=True))
    out: dict[int, Decimal] = {}
    for month, value in items.items():
        if month not in MONTHS:
            raise ValidationError({"amounts": _("Month %(m)s is not between 1 and 12.") % {"m": month}})
        try:
            amount = Decimal(str(value if value not in (None, "") else 0))
        except ArithmeticError:
            raise ValidationError({"amounts": _("“%(v)s” is not a number.") % {"v": value}}) from None
        if amount < 0:
            raise ValidationError({"amounts": _("A target cannot be negative (month %(m)s).") % {"m": month}})
        if amount != amount.quantize(metric.quantum):
            msg = (_("“%(metric)s” is counted in whole numbers (month %(m)s).") if metric.is_count
                   else _("Amounts are in cents at most (month %(m)s)."))
            raise ValidationError({"amounts": msg % {"metric": metric.label, "m": month}})
        out[month] = amount.quantize(CENT)
    return out


# ---- who may do what ----------------------------------------------------------------------------

def _plans_everything(user: User) -> bool:
    return manages_business_settings(user) or getattr(user, "role", None) == Role.EXECUTIVE


def may_plan(user: User | None, unit: OrgUnit) -> bool:
    """May `user` set the targets of `unit` and split them onto its children? Business management,
    executives and administrators everywhere; heads and managers within the subtrees they may edit."""
    if user is None:
        return True
    if _plans_everything(user):
        return True
    r = reach(user, EDIT)
    return r.everything or any(unit.path.startswith(p) for p in r.unit_paths)


def _check_plan(by: User | None, unit: OrgUnit) -> None:
    if not may_plan(by, unit):
        raise ValidationError({"node": _("You may not set targets for %(unit)s.") % {"unit": unit}})


def may_create_plans(user: User | None) -> bool:
    """Creating and revising plans is business management's (and executives', administrators')."""
    return user is None or _plans_everything(user)


def may_approve(user: User | None, unit: OrgUnit) -> bool:
    """The company level is approved by business management or an executive; a unit's split by whoever
    may plan the unit above it."""
    if user is None or _plans_everything(user):
        return True
    return unit.parent_id is not None and may_plan(user, OrgUnit.objects.get(pk=unit.parent_id))


def _check_approve(by: User | None, unit: OrgUnit) -> None:
    if not may_approve(by, unit):
        raise ValidationError({"unit": _("You may not review the targets of %(unit)s.") % {"unit": unit}})


# ---- plans --------------------------------------------------------------------------------------

def metric_defaults_ensure() -> int:
    """Put the default metrics back when none exist (a flushed test database); returns how many made."""
    if Metric.objects.exists():
        return 0
    import importlib

    from django.apps import apps

    importlib.import_module("kamcrm.targets.migrations.0002_default_metrics").forwards(apps, None)
    return Metric.objects.count()


@transaction.atomic
def plan_create(*, year: int, name: str = "", by: User | None = None) -> TargetPlan:
    """A new draft plan for `year` (version 1, or the next version if the year has plans)."""
    if not may_create_plans(by):
        raise ValidationError({"year": _("Only business management creates target plans.")})
    last = TargetPlan.objects.filter(year=year).aggregate(v=Max("version"))["v"] or 0
    plan = TargetPlan(year=year, version=last + 1, name=(name or "").strip(), created_by=by)
    plan.full_clean()
    plan.save()
    return plan


def _lock(plan: TargetPlan) -> TargetPlan:
    return TargetPlan.objects.select_for_update().get(pk=plan.pk)


def _editable(plan: TargetPlan, by: User | None) -> TargetPlan:
    """The plan to write to: itself while draft or sent back; after approval, a new version."""
    plan = _lock(plan)
    if plan.status == PlanStatus.SUBMITTED:
        raise ValidationError({"status": _("This plan is waiting for approval; send it back before changing it.")})
    if plan.status == PlanStatus.APPROVED:
        newer = TargetPlan.objects.filter(supersedes=plan).first()
        if newer is not None:
            raise ValidationError({"status": _("This plan was revised as version %(v)s; change that one.")
                                   % {"v": newer.version}})
        return _revise(plan, by=by)
    return plan


@transaction.atomic
def plan_revise(*, plan: TargetPlan, by: User | None = None, name: str = "") -> TargetPlan:
    """Copy an approved plan into its next version (a draft), every line with it, audited; the approved
    version stays locked as it was."""
    if not may_create_plans(by):
        raise ValidationError({"status": _("Only business management creates and revises target plans.")})
    return _revise(plan, by=by, name=name)


def _revise(plan: TargetPlan, *, by: User | None, name: str = "") -> TargetPlan:
    """The copy itself; also made implicitly by a permitted write to an approved plan (_editable)."""
    plan = _lock(plan)
    if plan.status != PlanStatus.APPROVED:
        raise ValidationError({"status": _("Only an approved plan is revised; change this one directly.")})
    newer = TargetPlan.objects.filter(supersedes=plan).first()
    if newer is not None:  # one line of versions: a second revision would fork it
        raise ValidationError({"status": _("This plan was revised as version %(v)s; change that one.")
                               % {"v": newer.version}})
    last = TargetPlan.objects.filter(year=plan.year).aggregate(v=Max("version"))["v"] or 0
    new = TargetPlan(year=plan.year, version=last + 1, name=name or plan.name, supersedes=plan, created_by=by)
    new.full_clean()
    new.save()
    old_to_new: dict[int, TargetLine] = {}
    lines = list(TargetLine.objects.filter(plan=plan).order_by("level", "is_unallocated", "id"))
    by_level: dict[int, list[TargetLine]] = defaultdict(list)
    for line in lines:
        by_level[line.level + (1 if line.is_unallocated else 0)].append(line)
    created: list[TargetLine] = []
    for level in sorted(by_level):  # parents before children, so their new ids are known
        batch = []
        for line in by_level[level]:
            copy = TargetLine(plan=new, metric_id=line.metric_id, month=line.month, node=line.node,
                              unit_id=line.unit_id, person_id=line.person_id, product_line_id=line.product_line_id,
                              parent=old_to_new[line.parent_id] if line.parent_id else None, level=line.level,
                              is_unallocated=line.is_unallocated, amount=line.amount,
                              out_of_balance=line.out_of_balance)
            batch.append(copy)
        TargetLine.objects.bulk_create(batch, batch_size=1000)
        for line, copy in zip(by_level[level], batch, strict=True):
            old_to_new[line.pk] = copy
        created += batch
    record_bulk(created, action="create")
    return new


def _root() -> OrgUnit:
    root = OrgUnit.objects.filter(parent__isnull=True).order_by("path").first()
    if root is None:
        raise ValidationError({"node": _("The organisation has no top unit yet.")})
    return root


def _review(plan: TargetPlan, unit: OrgUnit, action: str, comment: str, by: User | None) -> TargetReview:
    review = TargetReview(plan=plan, unit=unit, action=action, comment=(comment or "").strip(), by=by,
                          at=timezone.now())
    review.full_clean()
    review.save()
    return review


def _unbalanced(plan: TargetPlan, unit: OrgUnit) -> bool:
    return TargetLine.objects.filter(plan=plan, out_of_balance=True, unit__path__startswith=unit.path).exists()


@transaction.atomic
def plan_submit(*, plan: TargetPlan, unit: OrgUnit | None = None, comment: str = "",
                by: User | None = None) -> TargetReview:
    """Submit the split below `unit` (the company by default: the whole plan) for approval."""
    plan = _lock(plan)
    unit = unit or _root()
    _check_plan(by, unit)
    if plan.status not in (PlanStatus.DRAFT, PlanStatus.SENT_BACK):
        raise ValidationError({"status": _("Only a draft or sent-back plan is submitted.")})
    if _unbalanced(plan, unit):
        raise ValidationError({"status": _("Some targets below %(unit)s are out of balance; rebalance them first.")
                               % {"unit": unit}})
    if unit.parent_id is None:
        plan.status = PlanStatus.SUBMITTED
        plan.save(update_fields=["status", "updated_at"])
    return _review(plan, unit, ReviewAction.SUBMIT, comment, by)


def level_status(*, plan: TargetPlan, unit: OrgUnit) -> str | None:
    """The last review action at `unit`'s level (None: not reviewed yet)."""
    last = TargetReview.objects.filter(plan=plan, unit=unit).order_by("-at", "-id").first()
    return last.action if last else None


@transaction.atomic
def plan_approve(*, plan: TargetPlan, unit: OrgUnit | None = None, comment: str = "",
                 by: User | None = None) -> TargetReview:
    """Approve the split below `unit`. At the company level the plan becomes approved and locked."""
    plan = _lock(plan)
    unit = unit or _root()
    _check_approve(by, unit)
    if _unbalanced(plan, unit):
        raise ValidationError({"status": _("Some targets below %(unit)s are out of balance; rebalance them first.")
                               % {"unit": unit}})
    if unit.parent_id is None:
        if plan.status != PlanStatus.SUBMITTED:
            raise ValidationError({"status": _("Only a submitted plan is approved.")})
        plan.status, plan.approved_at, plan.approved_by = PlanStatus.APPROVED, timezone.now(), by
        plan.save(update_fields=["status", "approved_at", "approved_by", "updated_at"])
    elif level_status(plan=plan, unit=unit) != ReviewAction.SUBMIT:
        raise ValidationError({"status": _("The targets of %(unit)s have not been submitted.") % {"unit": unit}})
    elif plan.status == PlanStatus.APPROVED:
        raise ValidationError({"status": _("This plan is approved and locked.")})
    review = _review(plan, unit, ReviewAction.APPROVE, comment, by)
    target_plan_approved(review=review)  # in this transaction: notified exactly when the approval commits
    return review


@transaction.atomic
def plan_send_back(*, plan: TargetPlan, unit: OrgUnit | None = None, comment: str,
                   by: User | None = None) -> TargetReview:
    """Send the split below `unit` back with a comment saying why; the plan becomes editable again."""
    plan = _lock(plan)
    unit = unit or _root()
    _check_approve(by, unit)
    if not (comment or "").strip():
        raise ValidationError({"comment": _("Say why the targets are sent back.")})
    if plan.status == PlanStatus.APPROVED:
        raise ValidationError({"status": _("This plan is approved and locked; revise it instead.")})
    plan.status = PlanStatus.SENT_BACK
    plan.save(update_fields=["status", "updated_at"])
    review = _review(plan, unit, ReviewAction.SEND_BACK, comment, by)
    target_plan_sent_back(review=review)
    return review


# ---- lines --------------------------------------------------------------------------------------

def _diff(fields: Sequence[str], before: dict[int, dict[str, Any]]):
    def changes_for(line: TargetLine) -> dict:
        old = before.get(line.pk, {})
        return {f: [str(old.get(f)), str(getattr(line, f))] for f in fields if old.get(f) != getattr(line, f)}
    return changes_for


def _save(new: list[TargetLine], changed: dict[int, TargetLine], before: dict[int, dict[str, Any]]) -> None:
    """One bulk INSERT and one bulk UPDATE, both audited."""
    if new:
        TargetLine.objects.bulk_create(new, batch_size=1000)
        record_bulk(new, action="create")
    if changed:
        rows = list(changed.values())
        TargetLine.objects.bulk_update(rows, ["amount", "out_of_balance", "parent"], batch_size=1000)
        record_bulk(rows, action="update", changes_for=_diff(["amount", "out_of_balance", "parent_id"], before))


def _remember(line: TargetLine, before: dict[int, dict[str, Any]]) -> None:
    if line.pk and line.pk not in before:
        before[line.pk] = {"amount": line.amount, "out_of_balance": line.out_of_balance, "parent_id": line.parent_id}


def _split_parents(line_ids: list[int]) -> set[int]:
    """Which of these lines have been split (carry an unallocated line)?"""
    return set(TargetLine.objects.filter(parent_id__in=line_ids, is_unallocated=True).values_list("parent_id", flat=True))


def _node_of(line: TargetLine) -> Node:
    return User.objects.select_related("unit").get(pk=line.person_id) if line.person_id else OrgUnit.objects.get(
        pk=line.unit_id)


def _check_child(parent: Node, child: Node) -> None:
    if isinstance(parent, User):
        raise ValidationError({"children": _("A person's target is not split further.")})
    ok = child.unit_id == parent.pk if isinstance(child, User) else child.parent_id == parent.pk
    if not ok:
        raise ValidationError({"children": _("%(child)s is not directly below %(parent)s.")
                               % {"child": child, "parent": parent}})


@transaction.atomic
def target_set(*, plan: TargetPlan, metric: Metric, node: Node, amounts: Amounts, product_line_id: int | None = None,
               by: User | None = None) -> TargetPlan:
    """Set a node's targets for the given months (all twelve from a list). The top node (the company's
    figures) is set directly; a node below is re-split from its parent (its parent's unallocated line
    takes the difference, and over-allocating is refused). A node that was split and now differs from
    its children is flagged out of balance. Returns the plan written (a new version after approval)."""
    unit = node.unit if isinstance(node, User) else node
    key = node_key(node, product_line_id)
    existing = {line.month: line for line in TargetLine.objects.filter(plan=plan, metric=metric, node=key,
                                                                       is_unallocated=False)}
    parent_id = next((line.parent_id for line in existing.values() if line.parent_id), None)
    if parent_id is not None:
        parent_node = _node_of(TargetLine.objects.get(pk=parent_id))
        return target_decompose(plan=plan, metric=metric, parent=parent_node, children={node: amounts},
                                product_line_id=product_line_id, by=by)
    if not existing:
        org_parent = node.unit if isinstance(node, User) else (
            OrgUnit.objects.get(pk=node.parent_id) if node.parent_id else None)
        if org_parent is not None and TargetLine.objects.filter(
                plan=plan, metric=metric, node=node_key(org_parent, product_line_id), is_unallocated=False).exists():
            return target_decompose(plan=plan, metric=metric, parent=org_parent, children={node: amounts},
                                    product_line_id=product_line_id, by=by)
    _check_plan(by, unit)  # a top node: its own planner; a node below is its parent's planner's to change
    plan = _editable(plan, by)
    values = _months(amounts, metric)
    if not isinstance(amounts, Mapping):
        values = {m: values.get(m, ZERO) for m in MONTHS}
    existing = {line.month: line for line in TargetLine.objects.filter(plan=plan, metric=metric, node=key,
                                                                       is_unallocated=False)}
    split = _split_parents([line.pk for line in existing.values()])
    sums = _children_sums([line.pk for line in existing.values() if line.pk in split])
    new, changed, before = [], {}, {}
    fields = _node_fields(node)
    for month in MONTHS:
        line = existing.get(month)
        amount = values.get(month)
        if line is None:
            new.append(TargetLine(plan=plan, metric=metric, month=month, node=key, product_line_id=product_line_id,
                                  amount=amount or ZERO, **fields))
            continue
        if amount is None or amount == line.amount:
            continue
        _remember(line, before)
        line.amount = amount
        if line.pk in split:
            line.out_of_balance = sums.get(line.pk, ZERO) != amount
        changed[line.pk] = line
    _save(new, changed, before)
    return plan


def _children_sums(parent_ids: list[int]) -> dict[int, Decimal]:
    """Children plus unallocated per parent line."""
    rows = (TargetLine.objects.filter(parent_id__in=parent_ids).values("parent_id").annotate(s=Sum("amount"))
            .order_by())
    return {row["parent_id"]: Decimal(str(row["s"] or 0)).quantize(CENT) for row in rows}


@transaction.atomic
def target_decompose(*, plan: TargetPlan, metric: Metric, parent: Node, children: Mapping[Node, Amounts],
                     product_line_id: int | None = None, by: User | None = None) -> TargetPlan:
    """Split `parent`'s targets onto its children (units directly below it, or the people of the unit):
    each child gets the months given (a list of twelve, or some months), children not named keep what
    they have, and the parent's unallocated line becomes parent − sum(children) in every month — which
    rebalances this level. Refused when the children would exceed the parent. A child whose own split
    no longer adds up is flagged out of balance. Returns the plan written (a new version after approval)."""
    if isinstance(parent, User):
        raise ValidationError({"children": _("A person's target is not split further.")})
    _check_plan(by, parent)
    for child in children:
        _check_child(parent, child)
    plan = _editable(plan, by)
    parent_lines = {line.month: line for line in TargetLine.objects.select_for_update().filter(
        plan=plan, metric=metric, node=node_key(parent, product_line_id), is_unallocated=False)}
    if not parent_lines:
        raise ValidationError({"children": _("Set the targets of %(parent)s before splitting them.") % {"parent": parent}})
    wanted = {node_key(child, product_line_id): (child, _months(amounts, metric)) for child, amounts in children.items()}
    current = list(TargetLine.objects.filter(parent_id__in=[p.pk for p in parent_lines.values()]))
    by_key = {(line.node, line.month, line.is_unallocated): line for line in current}
    # A child set on its own before its parent was split (a top line of its own) is adopted.
    orphans = {(line.node, line.month): line for line in TargetLine.objects.filter(
        plan=plan, metric=metric, node__in=list(wanted), is_unallocated=False).exclude(pk__in=[c.pk for c in current])}
    new, changed, before = [], {}, {}
    touched: list[TargetLine] = []
    for key, (child, months) in wanted.items():
        fields = _node_fields(child)
        for month, parent_line in parent_lines.items():
            line = by_key.get((key, month, False))
            if line is None and (key, month) in orphans:
                line = orphans[(key, month)]
                _remember(line, before)
                line.parent = parent_line
                changed[line.pk] = line
                touched.append(line)
                by_key[(key, month, False)] = line
            if line is None:
                line = TargetLine(plan=plan, metric=metric, month=month, node=key, product_line_id=product_line_id,
                                  parent=parent_line, amount=months.get(month, ZERO), **fields)
                new.append(line)
                by_key[(key, month, False)] = line
            elif month in months and months[month] != line.amount:
                _remember(line, before)
                line.amount = months[month]
                changed[line.pk] = line
                touched.append(line)
    # Children whose own split no longer adds up are flagged.
    if touched:
        split = _split_parents([line.pk for line in touched])
        sums = _children_sums(list(split))
        for line in touched:
            if line.pk in split:
                line.out_of_balance = sums.get(line.pk, ZERO) != line.amount
    # Unallocated = parent − sum(children), month by month.
    allocated: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for (_key, month, unallocated), line in by_key.items():
        if not unallocated:
            allocated[month] += line.amount
    for month, parent_line in parent_lines.items():
        rest = parent_line.amount - allocated[month]
        if rest < 0:
            raise ValidationError({"children": _("%(month)s: the children's targets exceed %(parent)s's by %(over)s.")
                                   % {"month": dt.date(plan.year, month, 1).strftime("%Y-%m"), "parent": parent,
                                      "over": -rest}})
        line = by_key.get((parent_line.node, month, True))
        if line is None:
            new.append(TargetLine(plan=plan, metric=metric, month=month, node=parent_line.node,
                                  unit_id=parent_line.unit_id, person_id=None, product_line_id=product_line_id,
                                  parent=parent_line, level=parent_line.level, is_unallocated=True, amount=rest))
        elif line.amount != rest:
            _remember(line, before)
            line.amount = rest
            changed[line.pk] = line
        if parent_line.out_of_balance:
            _remember(parent_line, before)
            parent_line.out_of_balance = False
            changed[parent_line.pk] = parent_line
    _save(new, changed, before)
    return plan


@transaction.atomic
def target_decompose_by_shares(*, plan: TargetPlan, metric: Metric, parent: Node, shares: Mapping[Node, Decimal | int],
                               product_line_id: int | None = None, by: User | None = None) -> TargetPlan:
    """Split `parent`'s every month onto its children in proportion to `shares`, each part rounded down to
    the cent (or to 1 for counts); the rounding remainder stays unallocated, where it can be seen."""
    lines = {line.month: line.amount for line in TargetLine.objects.filter(
        plan=plan, metric=metric, node=node_key(parent, product_line_id), is_unallocated=False)}
    per_child: dict[Node, dict[int, Decimal]] = {child: {} for child in shares}
    for month, amount in lines.items():
        for child, part in split_by_shares(amount, shares, quantum=metric.quantum).parts.items():
            per_child[child][month] = part
    return target_decompose(plan=plan, metric=metric, parent=parent, children=per_child,
                            product_line_id=product_line_id, by=by)


@transaction.atomic
def target_rebalance(*, plan: TargetPlan, metric: Metric | None = None, unit: OrgUnit | None = None,
                     mode: str = RebalanceMode.UNALLOCATED, by: User | None = None) -> TargetPlan:
    """Make every out-of-balance line in scope (a metric, `unit`'s subtree) add up again, top down:
    `unallocated` puts the difference into the unallocated line (refused where the children exceed the
    parent); `shares` re-splits the parent over its children and unallocated in proportion to what they
    have now (the rounding remainder to unallocated), which flags and rebalances the levels below in turn."""
    if mode not in RebalanceMode.values:
        raise ValidationError({"mode": _("Unknown way to rebalance: %(m)s.") % {"m": mode}})
    _check_plan(by, unit or _root())
    plan = _editable(plan, by)
    scope = TargetLine.objects.filter(plan=plan, out_of_balance=True)
    if metric is not None:
        scope = scope.filter(metric=metric)
    if unit is not None:
        scope = scope.filter(unit__path__startswith=unit.path)
    for _pass in range(64):  # one level per pass; trees are far shallower
        top = scope.order_by("level").values_list("level", flat=True).first()
        if top is None:
            break
        parents = {line.pk: line for line in scope.filter(level=top)}
        children = defaultdict(list)
        for line in TargetLine.objects.filter(parent_id__in=list(parents)).order_by("id"):
            children[line.parent_id].append(line)
        changed, before = {}, {}
        touched = []
        for pk, parent in parents.items():
            kids = children[pk]
            real = [c for c in kids if not c.is_unallocated]
            spare = next((c for c in kids if c.is_unallocated), None)
            metric_row = Metric.objects.get(pk=parent.metric_id) if metric is None else metric
            if mode == RebalanceMode.SHARES:
                split = split_by_shares(parent.amount, {c.pk: c.amount for c in kids}, quantum=metric_row.quantum)
                for c in kids:
                    amount = split.parts[c.pk] + (split.remainder if c is spare else ZERO)
                    if amount != c.amount:
                        _remember(c, before)
                        c.amount = amount
                        changed[c.pk] = c
                        if not c.is_unallocated:
                            touched.append(c)
                if spare is None and split.remainder:  # pragma: no cover - a split parent always has one
                    raise ValidationError({"mode": _("This split has no unallocated line.")})
            else:
                rest = parent.amount - sum((c.amount for c in real), ZERO)
                if rest < 0:
                    raise ValidationError({"mode": _("%(month)s: the targets below %(node)s exceed it by %(over)s; "
                                                     "re-split them in proportion or lower them first.")
                                           % {"month": dt.date(plan.year, parent.month, 1).strftime("%Y-%m"),
                                              "node": _node_of(parent), "over": -rest}})
                if spare is not None and spare.amount != rest:
                    _remember(spare, before)
                    spare.amount = rest
                    changed[spare.pk] = spare
            _remember(parent, before)
            parent.out_of_balance = False
            changed[pk] = parent
        if touched:
            split_ids = _split_parents([c.pk for c in touched])
            sums = _children_sums(list(split_ids))
            for c in touched:
                if c.pk in split_ids:
                    c.out_of_balance = sums.get(c.pk, ZERO) != c.amount
        _save([], changed, before)
    return plan


def balance_problems(*, plan: TargetPlan) -> list[tuple[TargetLine, Decimal]]:
    """Split lines whose children plus unallocated differ from them, and are not flagged: always empty
    unless something wrote around the services (the property tests assert it)."""
    lines = {line.pk: line for line in TargetLine.objects.filter(plan=plan, out_of_balance=False,
                                                                 pk__in=_split_parents_q(plan))}
    sums = _children_sums(list(lines))
    return [(line, sums.get(pk, ZERO)) for pk, line in lines.items() if sums.get(pk, ZERO) != line.amount]


def _split_parents_q(plan: TargetPlan):
    return TargetLine.objects.filter(plan=plan, is_unallocated=True).values("parent_id")


def lines_by_node(*, plan: TargetPlan, metric: Metric, nodes: list[str]) -> dict[str, list[Decimal]]:
    """Twelve months per node key (zeros where unset) — a helper for callers and tests."""
    out = {key: [ZERO] * 12 for key in nodes}
    for line in TargetLine.objects.filter(plan=plan, metric=metric, node__in=nodes, is_unallocated=False):
        out[line.node][line.month - 1] = line.amount
    return out


def unallocated_of(*, plan: TargetPlan, metric: Metric, node: Node, product_line_id: int | None = None) -> list[Decimal]:
    out = [ZERO] * 12
    for line in TargetLine.objects.filter(plan=plan, metric=metric, node=node_key(node, product_line_id),
                                          is_unallocated=True):
        out[line.month - 1] = line.amount
    return out


__all__ = ["Split", "split_by_shares", "node_key", "may_plan", "may_create_plans", "may_approve", "metric_defaults_ensure", "plan_create", "plan_revise",
           "plan_submit", "plan_approve", "plan_send_back", "level_status", "target_set", "target_decompose",
           "target_decompose_by_shares", "target_rebalance", "balance_problems", "lines_by_node", "unallocated_of"]

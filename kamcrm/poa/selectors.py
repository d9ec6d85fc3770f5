"""Reads of action plans: the list, one plan with its cycles, objectives and actions, the live figure of
an objective, and overdue actions per person. Every read goes through `plan_queryset` (visibility).

Visibility of a plan (the rule, in one place):
- account and opportunity plans: whoever sees (or, for EDIT, edits) the account or the opportunity
  through org.selectors.visible;
- unit plans: whoever's reach (org.selectors.reach) covers the unit: the subtrees they head or see by role;
- person plans: the person themselves, their managers up the chain, and whoever's reach covers the
  person's unit;
- and always the plan's owner.

Live figures (`objective_actual`): for a person or a unit, targets.selectors.actual — the same computation
as target completion (decision 0008). For an account, the same sources narrowed to the account: its
revenue facts (analytics, account grain) for expected / billed / collected revenue, its agreements signed
in the period, its won opportunities closed in the period, itself if it was created as a key account in
the period, its visits made. For an opportunity: its agreements signed in the period, itself if won and
closed in the period, its visits made.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from functools import reduce
from operator import or_
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from kamcrm.core.pagination import Page, keyset_page
from kamcrm.org.models import User
from kamcrm.org.selectors import VIEW, reach, visible
from kamcrm.poa.choices import ActionStatus, CycleStatus, SubjectKind
from kamcrm.poa.models import Action, ActionPlan, Objective, PlanCycle
from kamcrm.targets.choices import MetricSource
from kamcrm.targets.models import Metric

CENT = Decimal("0.01")
PLAN_ORDER = ["-id"]
REVENUE_SOURCES = (MetricSource.EXPECTED, MetricSource.BILLED, MetricSource.COLLECTED)
# The metric sources that can be measured for each kind of subject.
SOURCES_FOR = {
    SubjectKind.ACCOUNT: tuple(MetricSource.values),
    SubjectKind.OPPORTUNITY: (MetricSource.SIGNED, MetricSource.WON, MetricSource.VISITS),
    SubjectKind.UNIT: tuple(MetricSource.values),
    SubjectKind.PERSON: tuple(MetricSource.values),
}


def _cents(value) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT)


# ---- visibility -----------------------------------------------------------------------------------

def plan_q(user: User, action: str = VIEW) -> Q | None:
    """A Q over ActionPlan for what `user` may see (or edit); None when they reach everything."""
    from kamcrm.customers.models import Account
    from kamcrm.sales.models import Opportunity

    r = reach(user, action)
    if r.everything:
        return None
    if not getattr(user, "pk", None):
        return Q(pk__in=[])
    q = Q(owner_id=user.pk)
    q |= Q(kind=SubjectKind.ACCOUNT, account_id__in=visible(Account.objects.all(), user, action).values("pk"))
    q |= Q(kind=SubjectKind.OPPORTUNITY,
           opportunity_id__in=visible(Opportunity.objects.all(), user, action).values("pk"))
    if r.owner_ids:
        q |= Q(kind=SubjectKind.PERSON, person_id__in=sorted(r.owner_ids))
    if r.unit_paths:
        q |= Q(kind=SubjectKind.UNIT) & reduce(or_, (Q(unit__path__startswith=p) for p in r.unit_paths))
        q |= Q(kind=SubjectKind.PERSON) & reduce(or_, (Q(person__unit__path__startswith=p) for p in r.unit_paths))
    return q


def plan_queryset(user: User, action: str = VIEW) -> QuerySet[ActionPlan]:
    qs = ActionPlan.objects.all()
    q = plan_q(user, action)
    return qs if q is None else qs.filter(q)


def plan_visible_or_404(*, user: User, plan_id: int, action: str = VIEW) -> ActionPlan:
    plan = plan_queryset(user, action).select_related(
        "account", "opportunity__account", "unit", "person", "owner").filter(pk=plan_id).first()
    if plan is None:
        raise Http404
    return plan


def subject_visible(*, user: User, kind: str, subject: Any, action: str = VIEW) -> bool:
    """May `user` see (edit) `subject` as the subject of a plan? The same rule as plan_q."""
    from kamcrm.org.selectors import can

    if kind in (SubjectKind.ACCOUNT, SubjectKind.OPPORTUNITY):
        return can(user, subject, action)
    r = reach(user, action)
    if r.everything:
        return True
    if kind == SubjectKind.UNIT:
        return any(subject.path.startswith(p) for p in r.unit_paths)
    if subject.pk in r.owner_ids:
        return True
    path = subject.unit.path if subject.unit_id else None
    return bool(path) and any(path.startswith(p) for p in r.unit_paths)


# ---- the list ---------------------------------------------------------------------------------------

def plan_list(*, user: User, filters: dict | None = None, cursor: str | None = None, page_size: int = 50) -> Page:
    """Plans `user` may see, newest first, filtered by subject kind and by the latest cycle's status
    ("none": no cycle yet), one keyset page (subjects and owner joined: one query per page)."""
    filters = filters or {}
    qs = plan_queryset(user).select_related("account", "opportunity", "unit", "person", "owner")
    kind = filters.get("kind")
    if kind:
        if kind not in SubjectKind.values:
            raise ValidationError({"kind": _("Unknown subject kind “%(kind)s”.") % {"kind": kind}})
        qs = qs.filter(kind=kind)
    status = filters.get("status")
    if status:
        if status != "none" and status not in CycleStatus.values:
            raise ValidationError({"status": _("Unknown status “%(status)s”.") % {"status": status}})
        qs = qs.filter(status="" if status == "none" else status)
    if filters.get("mine"):
        qs = qs.filter(owner_id=user.pk)
    return keyset_page(qs, order=PLAN_ORDER, cursor=cursor, page_size=page_size)


# ---- one plan -------------------------------------------------------------------------------------

def plan_detail(*, user: User, plan_id: int) -> ActionPlan:
    """The plan with its cycles (latest first), each with its objectives (metric, product line) and actions
    (owner): a fixed number of queries whatever the number of cycles, objectives and actions."""
    plan = plan_visible_or_404(user=user, plan_id=plan_id)
    cycles = list(PlanCycle.objects.filter(plan=plan).select_related("checked_by", "feedback_by")
                  .prefetch_related(Prefetch("objectives", queryset=Objective.objects.select_related(
                      "metric", "product_line").order_by("id")),
                                    Prefetch("actions", queryset=Action.objects.select_related("owner")
                                             .order_by("due_on", "id")))
                  .order_by("-number"))
    plan.cycle_list = cycles
    plan.current_cycle = cycles[0] if cycles else None
    return plan


def cycle_current(*, plan: ActionPlan) -> PlanCycle | None:
    return PlanCycle.objects.filter(plan=plan).order_by("-number").first()


# ---- live figures ---------------------------------------------------------------------------------

def _account_actual(metric: Metric, account, start: dt.date, end: dt.date, product_line_id: int | None) -> Decimal:
    source = metric.source
    if source in REVENUE_SOURCES:
        from kamcrm.analytics.models import RevenueFact

        qs = RevenueFact.objects.filter(account=account, month__gte=start.replace(day=1),
                                        month__lte=end.replace(day=1))
        if product_line_id is not None:
            qs = qs.filter(product_line_id=product_line_id)
        return _cents(qs.aggregate(v=Sum(source))["v"])
    if source == MetricSource.SIGNED:
        return _signed(Q(account=account), start, end, product_line_id)
    if source == MetricSource.WON:
        return _won(Q(account=account), start, end, product_line_id)
    if source == MetricSource.NEW_KEY_ACCOUNTS:
        created = timezone.localdate(account.created_at)
        return Decimal(int(account.tier in ("key", "strategic") and start <= created <= end))
    if source == MetricSource.VISITS:
        return _visits(Q(account=account), start, end)
    raise ValueError(source)


def _opportunity_actual(metric: Metric, opportunity, start: dt.date, end: dt.date,
                        product_line_id: int | None) -> Decimal:
    source = metric.source
    if source == MetricSource.SIGNED:
        return _signed(Q(opportunity=opportunity), start, end, product_line_id)
    if source == MetricSource.WON:
        return _won(Q(pk=opportunity.pk), start, end, product_line_id)
    if source == MetricSource.VISITS:
        return _visits(Q(opportunity=opportunity), start, end)
    raise ValueError(source)


def _signed(q: Q, start: dt.date, end: dt.date, product_line_id: int | None) -> Decimal:
    from kamcrm.agreements.models import Agreement, AgreementLine

    qs = Agreement.objects.filter(q, signed_on__gte=start, signed_on__lte=end)
    if product_line_id is not None:
        return _cents(AgreementLine.objects.filter(agreement__in=qs.values("pk"), product__line_id=product_line_id)
                      .aggregate(v=Sum("amount"))["v"])
    return _cents(qs.aggregate(v=Sum("total_value"))["v"])


def _won(q: Q, start: dt.date, end: dt.date, product_line_id: int | None) -> Decimal:
    from kamcrm.sales.choices import StageKind
    from kamcrm.sales.models import Opportunity, OpportunityLine

    qs = Opportunity.objects.filter(q, stage__kind=StageKind.WON, closed_on__gte=start, closed_on__lte=end)
    if product_line_id is not None:
        return _cents(OpportunityLine.objects.filter(opportunity__in=qs.values("pk"),
                                                     product__line_id=product_line_id)
                      .aggregate(v=Sum("amount"))["v"])
    return _cents(qs.aggregate(v=Sum("amount"))["v"])


def _visits(q: Q, start: dt.date, end: dt.date) -> Decimal:
    from kamcrm.activities.choices import VisitStatus
    from kamcrm.activities.models import Visit

    return Decimal(Visit.objects.filter(q, status=VisitStatus.DONE, starts_at__date__gte=start,
                                        starts_at__date__lte=end).count())


def subject_actual(*, plan: ActionPlan, metric: Metric, start: dt.date, end: dt.date,
                   product_line_id: int | None = None) -> Decimal:
    """The metric's live figure for the plan's subject from `start` to `end` (inclusive)."""
    kind = plan.kind
    if metric.source not in SOURCES_FOR[kind]:
        raise ValidationError({"metric": _("“%(metric)s” cannot be measured for this kind of subject (%(kind)s).")
                               % {"metric": metric, "kind": SubjectKind(kind).label}})
    if kind in (SubjectKind.UNIT, SubjectKind.PERSON):
        from kamcrm.targets.selectors import actual

        return actual(metric=metric, subject=plan.subject, start=start, end=end, product_line_id=product_line_id)
    if kind == SubjectKind.ACCOUNT:
        return _account_actual(metric, plan.account, start, end, product_line_id)
    return _opportunity_actual(metric, plan.opportunity, start, end, product_line_id)


def objective_actual(objective: Objective) -> Decimal:
    """The live figure of `objective` for its plan's subject over its cycle's period."""
    cycle = objective.cycle
    return subject_actual(plan=cycle.plan, metric=objective.metric, start=cycle.period_start,
                          end=cycle.period_end, product_line_id=objective.product_line_id)


@dataclass
class ObjectiveFigures:
    objective: Objective
    target: Decimal
    actual: Decimal

    @property
    def gap(self) -> Decimal:
        """target − actual (negative: exceeded)."""
        return self.target - self.actual

    @property
    def ratio(self) -> Decimal | None:
        if not self.target:
            return None
        return (self.actual * 100 / self.target).quantize(Decimal("0.1"))

    @property
    def met(self) -> bool:
        return self.actual >= self.target


def cycle_figures(*, cycle: PlanCycle) -> list[ObjectiveFigures]:
    """Target, live actual and gap for each objective of `cycle` (its objectives are usually prefetched)."""
    quantum = {True: Decimal("1"), False: CENT}
    rows = []
    for objective in cycle.objectives.all():
        objective.cycle = cycle
        live = objective_actual(objective)
        rows.append(ObjectiveFigures(objective=objective, target=objective.target.quantize(
            quantum[objective.metric.is_count]), actual=live))
    return rows


# ---- overdue actions ------------------------------------------------------------------------------

def overdue_actions(*, user: User, person: User | None = None, today: dt.date | None = None,
                    limit: int = 100) -> list[Action]:
    """Open actions past their due date on the plans `user` may see, for `person` (default: `user`),
    oldest due first, with their cycle and plan: one query."""
    person = person or user
    today = today or timezone.localdate()
    qs = Action.objects.filter(owner=person, status=ActionStatus.OPEN, due_on__lt=today,
                               cycle__plan__in=plan_queryset(user).values("pk"))
    return list(qs.select_related("cycle__plan", "owner").order_by("due_on", "id")[:limit])

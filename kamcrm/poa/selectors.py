"""Reads of action plans: the list, one plan with its cycles, objectives and actions, the live figure of
an objective, and overdue actions per person. Every read goes through `plan_queryset` (visibility).

Visibility of a plan (the rule, in one place):
- account and opportunity plans: whoever sees (or, for EDIT, edits) the account or the opportunity
  through org.selectors.visible;
- unit plans: whoever's reach (org.selectors.reach) covers the unit: the subtrees they head or see by role;
- person plans: the person themselves, their managers up the chain, and whoever's reach covers the
  person's unit;
- and always the plan's owner.

Live figures (`objective_actual`): targets.selectors.actual, the one definition per metric source that
target completion uses (decision 0008), whatever the subject. For an account, the same sources narrowed to
the account: its
revenue facts (analytics, account grain) for expected / billed / collected revenue, its agreements signed
in the period, its won opportunities closed in the period, itself if it was created as a key account in
the period, its visits made. For an opportunity: its agreements signed in the period, itself if won and
closed in the period, its visits made.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import reduce
from operator import or_
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from kamcrm.core.pagination import Page, keyset_page
from kamcrm.org.choices import Role
from kamcrm.org.models import OrgUnit, User
from kamcrm.org.selectors import EDIT, VIEW, Reach, reach, visible
from kamcrm.poa.choices import ActionStatus, CycleStatus, SubjectKind, WeeklyStatus
from kamcrm.poa.models import Action, ActionPlan, Objective, PlanCycle, WeeklyItem, WeeklyPlan
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
    if r.unit_paths:
        q |= Q(kind=SubjectKind.UNIT) & reduce(or_, (Q(unit__path__startswith=p) for p in r.unit_paths))
    if r.owner_ids or r.unit_paths:
        q |= Q(kind=SubjectKind.PERSON) & person_reach_q(r, prefix="person__")
    return q


def person_reach_q(r: Reach, *, prefix: str = "") -> Q:
    """The people `r` covers: themselves and everyone down their manager chain (`owner_ids`), and everyone
    whose primary unit lies in a subtree they head or see by role (`unit_paths`). Over User (prefix "") or
    over a model pointing at a person (prefix "person__"). The one person rule of person plans, weekly
    plans and the weekly roll-up; `everything` is the caller's to short-circuit."""
    q = Q(pk__in=[])
    if r.owner_ids:
        q |= Q(**{f"{prefix}pk__in": sorted(r.owner_ids)})
    if r.unit_paths:
        q |= reduce(or_, (Q(**{f"{prefix}unit__path__startswith": p}) for p in r.unit_paths))
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

def subject_actual(*, plan: ActionPlan, metric: Metric, start: dt.date, end: dt.date,
                   product_line_id: int | None = None) -> Decimal:
    """The metric's live figure for the plan's subject from `start` to `end` (inclusive)."""
    kind = plan.kind
    if metric.source not in SOURCES_FOR[kind]:
        raise ValidationError({"metric": _("“%(metric)s” cannot be measured for this kind of subject (%(kind)s).")
                               % {"metric": metric, "kind": SubjectKind(kind).label}})
    from kamcrm.targets.selectors import actual  # one definition per metric source, whatever the subject

    return actual(metric=metric, subject=plan.subject, start=start, end=end, product_line_id=product_line_id)


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


# ---- weekly plans and reports -----------------------------------------------------------------------
# A person sees their own weekly plans; whoever's reach covers the person (person_reach_q) sees theirs.
# The week's live figures come from the person's own records: visits they made, tasks they finished,
# opportunities they own whose stage changed, and opportunities they own won in the week.

SALES_ROLES = (Role.ACCOUNT_MANAGER, Role.SALES_MANAGER)
WEEK_RE = re.compile(r"^\s*(\d{4})-?W(\d{1,2})\s*$", re.IGNORECASE)


def week_start(year: int, week: int) -> dt.date:
    """The Monday of ISO week `week` of `year`; a week that does not exist is a ValidationError on "week"."""
    try:
        return dt.date.fromisocalendar(int(year), int(week), 1)
    except (TypeError, ValueError):
        raise ValidationError({"week": _("There is no week %(week)s in %(year)s.")
                               % {"week": week, "year": year}}) from None


def week_of(day: dt.date) -> tuple[int, int]:
    iso = day.isocalendar()
    return iso.year, iso.week


def parse_week(text: str) -> tuple[int, int]:
    """"2026-W05" (what <input type="week"> sends) → (2026, 5); anything else names the "week" field."""
    match = WEEK_RE.match(text or "")
    if not match:
        raise ValidationError({"week": _("Give the week as 2026-W05.")})
    year, week = int(match.group(1)), int(match.group(2))
    week_start(year, week)
    return year, week


def week_label(year: int, week: int) -> str:
    return f"{year}-W{week:02d}"


def _week_span(start: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """Monday 00:00 to the next Monday 00:00 in the project's time zone (an index range, not a __date cast)."""
    lo = timezone.make_aware(dt.datetime.combine(start, dt.time.min))
    return lo, timezone.make_aware(dt.datetime.combine(start + dt.timedelta(days=7), dt.time.min))


def weekly_q(user: User, action: str = VIEW) -> Q | None:
    """A Q over WeeklyPlan for what `user` may see (or, for EDIT, review); None when they reach everything."""
    r = reach(user, action)
    if r.everything:
        return None
    if not getattr(user, "pk", None):
        return Q(pk__in=[])
    return Q(person_id=user.pk) | person_reach_q(r, prefix="person__")


def weekly_queryset(user: User, action: str = VIEW) -> QuerySet[WeeklyPlan]:
    qs = WeeklyPlan.objects.all()
    q = weekly_q(user, action)
    return qs if q is None else qs.filter(q)


def people_queryset(user: User, action: str = VIEW) -> QuerySet[User]:
    """The people whose weekly plans `user` sees: the same rule, over User."""
    r = reach(user, action)
    qs = User.objects.all()
    if r.everything:
        return qs
    if not getattr(user, "pk", None):
        return qs.none()
    return qs.filter(Q(pk=user.pk) | person_reach_q(r))


def may_review(user: User, weekly: WeeklyPlan) -> bool:
    """A manager whose edit reach covers the person reviews their report; nobody reviews their own."""
    if not getattr(user, "pk", None) or user.pk == weekly.person_id:
        return False
    return weekly_queryset(user, EDIT).filter(pk=weekly.pk).exists()


def weekly_visible_or_404(*, user: User, weekly_id: int) -> WeeklyPlan:
    weekly = (weekly_queryset(user).select_related("person__unit", "reviewed_by").filter(pk=weekly_id).first())
    if weekly is None:
        raise Http404
    return weekly


def weekly_detail(*, user: User, weekly_id: int) -> WeeklyPlan:
    """The weekly plan with its items (account, opportunity) in two queries."""
    weekly = weekly_visible_or_404(user=user, weekly_id=weekly_id)
    weekly.item_list = list(weekly.items.select_related("account", "opportunity").order_by("position", "id"))
    return weekly


def weekly_mine(*, user: User, limit: int = 12) -> list[WeeklyPlan]:
    """The user's own latest weekly plans with planned and done counts: one query."""
    return list(WeeklyPlan.objects.filter(person=user).annotate(
        planned=Count("items"), done_count=Count("items", filter=Q(items__done=True)))
        .order_by("-week_start")[:limit])


def weekly_for(*, person: User, year: int, week: int) -> WeeklyPlan | None:
    return WeeklyPlan.objects.filter(person=person, year=year, week=week).first()


@dataclass
class WeekFigures:
    """The live figures of one person's week, from their own records."""

    visits: int = 0
    tasks: int = 0
    moved: int = 0
    won: int = 0
    won_amount: Decimal = Decimal("0.00")

    def as_dict(self) -> dict[str, Any]:
        return {"visits": self.visits, "tasks": self.tasks, "moved": self.moved, "won": self.won,
                "won_amount": str(self.won_amount)}


def week_figures(*, person_ids: list[int], start: dt.date) -> dict[int, WeekFigures]:
    """Live figures of the week starting `start` for each of `person_ids`: four grouped queries whatever
    the number of people (an empty list costs none)."""
    from kamcrm.activities.choices import TaskStatus, VisitStatus
    from kamcrm.activities.models import Task, Visit
    from kamcrm.sales.choices import StageKind
    from kamcrm.sales.models import Opportunity, OpportunityStageChange

    out = {pk: WeekFigures() for pk in person_ids}
    if not person_ids:
        return out
    lo, hi = _week_span(start)
    ids = sorted(set(person_ids))
    for row in (Visit.objects.filter(owner_id__in=ids, status=VisitStatus.DONE, starts_at__gte=lo, starts_at__lt=hi)
                .values("owner_id").annotate(n=Count("id")).order_by()):
        out[row["owner_id"]].visits = row["n"]
    for row in (Task.objects.filter(assignee_id__in=ids, status=TaskStatus.DONE, done_at__gte=lo, done_at__lt=hi)
                .values("assignee_id").annotate(n=Count("id")).order_by()):
        out[row["assignee_id"]].tasks = row["n"]
    for row in (OpportunityStageChange.objects.filter(owner_id__in=ids, from_stage__isnull=False,
                                                      changed_at__gte=lo, changed_at__lt=hi)
                .values("owner_id").annotate(n=Count("opportunity_id", distinct=True)).order_by()):
        out[row["owner_id"]].moved = row["n"]
    for row in (Opportunity.objects.filter(owner_id__in=ids, stage__kind=StageKind.WON, closed_on__gte=start,
                                           closed_on__lte=start + dt.timedelta(days=6))
                .values("owner_id").annotate(n=Count("id"), amount=Sum("amount")).order_by()):
        out[row["owner_id"]].won, out[row["owner_id"]].won_amount = row["n"], _cents(row["amount"])
    return out


@dataclass
class WeekRecords:
    """The records behind one person's week, for the report page (at most `limit` of each)."""

    visits: list
    tasks: list
    moves: list
    won: list


def week_records(*, person: User, start: dt.date, limit: int = 50) -> WeekRecords:
    from kamcrm.activities.choices import TaskStatus, VisitStatus
    from kamcrm.activities.models import Task, Visit
    from kamcrm.sales.choices import StageKind
    from kamcrm.sales.models import Opportunity, OpportunityStageChange

    lo, hi = _week_span(start)
    return WeekRecords(
        visits=list(Visit.objects.filter(owner=person, status=VisitStatus.DONE, starts_at__gte=lo, starts_at__lt=hi)
                    .select_related("account").order_by("starts_at", "id")[:limit]),
        tasks=list(Task.objects.filter(assignee=person, status=TaskStatus.DONE, done_at__gte=lo, done_at__lt=hi)
                   .select_related("account").order_by("done_at", "id")[:limit]),
        moves=list(OpportunityStageChange.objects.filter(owner=person, from_stage__isnull=False, changed_at__gte=lo,
                                                         changed_at__lt=hi)
                   .select_related("opportunity__account", "from_stage", "to_stage").order_by("changed_at", "id")
                   [:limit]),
        won=list(Opportunity.objects.filter(owner=person, stage__kind=StageKind.WON, closed_on__gte=start,
                                            closed_on__lte=start + dt.timedelta(days=6))
                 .select_related("account").order_by("closed_on", "id")[:limit]),
    )


def suggest_outcomes(items: list[WeeklyItem], records: WeekRecords) -> dict[int, bool]:
    """Items the week's records show as done: a visit made to the item's account (or on its opportunity),
    a stage change or a win of its opportunity, a finished task about its account or opportunity."""
    accounts = {v.account_id for v in records.visits} | {t.account_id for t in records.tasks if t.account_id}
    opportunities = ({v.opportunity_id for v in records.visits if v.opportunity_id}
                     | {m.opportunity_id for m in records.moves} | {o.pk for o in records.won}
                     | {t.opportunity_id for t in records.tasks if t.opportunity_id})
    out = {}
    for item in items:
        if item.opportunity_id:
            out[item.pk] = item.opportunity_id in opportunities
        elif item.account_id:
            out[item.pk] = item.account_id in accounts
    return out


@dataclass
class RollupRow:
    person: User
    weekly: WeeklyPlan | None
    figures: WeekFigures

    @property
    def plan_in(self) -> bool:
        return self.weekly is not None and self.weekly.plan_submitted_at is not None

    @property
    def report_in(self) -> bool:
        return self.weekly is not None and self.weekly.status != WeeklyStatus.DRAFT

    @property
    def planned(self) -> int:
        return self.weekly.planned if self.weekly is not None else 0

    @property
    def done(self) -> int:
        return self.weekly.done_count if self.weekly is not None else 0


def rollup_units(user: User) -> QuerySet[OrgUnit]:
    """The units whose roll-up `user` may open: every unit for whoever reaches everything, else the
    subtrees they head or see by role, and their own unit."""
    r = reach(user)
    qs = OrgUnit.objects.filter(is_active=True).order_by("path")
    if r.everything:
        return qs
    paths = list(r.unit_paths)
    q = Q(pk=user.unit_id) if user.unit_id else Q(pk__in=[])
    for p in paths:
        q |= Q(path__startswith=p)
    return qs.filter(q)


def default_rollup_unit(user: User) -> OrgUnit | None:
    r = reach(user)
    if r.everything:
        return OrgUnit.objects.filter(parent__isnull=True, is_active=True).order_by("path").first()
    if r.unit_paths:
        return OrgUnit.objects.filter(path=r.unit_paths[0]).first()
    return user.unit


def week_rollup(*, user: User, unit: OrgUnit, year: int, week: int) -> list[RollupRow]:
    """Every active sales person in `unit`'s subtree whom `user` reaches, with their weekly plan for the
    week (planned and done counts) and the week's live figures: six queries however many people."""
    start = week_start(year, week)
    people = list(people_queryset(user).filter(is_active=True, role__in=SALES_ROLES, unit__path__startswith=unit.path)
                  .select_related("unit").order_by("unit__path", "display_name", "username", "id"))
    ids = [p.pk for p in people]
    weeklies = {w.person_id: w for w in WeeklyPlan.objects.filter(person_id__in=ids, year=year, week=week).annotate(
        planned=Count("items"), done_count=Count("items", filter=Q(items__done=True)))} if ids else {}
    figures = week_figures(person_ids=ids, start=start)
    return [RollupRow(person=p, weekly=weeklies.get(p.pk), figures=figures[p.pk]) for p in people]

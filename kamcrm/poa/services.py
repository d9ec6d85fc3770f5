"""Every write to action plans and their PDCA cycles (K8, issue 6 item 4).

A plan (plan_create) runs in numbered cycles. A cycle opens in the plan step (cycle_open), where its
objectives (objective_add) and actions (action_add) are set; cycle_start moves it to do, where actions are
worked (action_update, action_complete); cycle_check moves it to check and snapshots plan versus actual
for every objective, computed from the live figures (selectors.objective_actual), with the moment they
were taken; cycle_act begins the act step; cycle_feedback records the feedback (required) and closes the
cycle. The next cycle cannot open before the previous cycle's feedback is recorded.

Writes are audited by the audit receiver (apps.py registers the models). The `_for(user, …)` variants
check that the user may see (404) and edit (refused) the plan first.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from kamcrm.org.models import User
from kamcrm.org.selectors import EDIT, VIEW
from kamcrm.poa import selectors
from kamcrm.poa.choices import ActionStatus, CycleStatus, SubjectKind, WeeklyItemKind, WeeklyStatus
from kamcrm.poa.models import SUBJECT_FIELDS, Action, ActionPlan, Objective, PlanCycle, WeeklyItem, WeeklyPlan

OBJECTIVE_STEPS = (CycleStatus.PLAN, CycleStatus.DO)
ACTION_STEPS = (CycleStatus.PLAN, CycleStatus.DO)
ACTION_STATUS_STEPS = (CycleStatus.PLAN, CycleStatus.DO, CycleStatus.CHECK, CycleStatus.ACT)


def _kind_of(subject: Any) -> str:
    from kamcrm.customers.models import Account
    from kamcrm.org.models import OrgUnit
    from kamcrm.sales.models import Opportunity

    for cls, kind in ((Account, SubjectKind.ACCOUNT), (Opportunity, SubjectKind.OPPORTUNITY),
                      (OrgUnit, SubjectKind.UNIT), (User, SubjectKind.PERSON)):
        if isinstance(subject, cls):
            return kind
    raise ValidationError({"subject": _("A plan is about an account, an opportunity, a unit or a person.")})


def _lock_plan(plan: ActionPlan) -> ActionPlan:
    return ActionPlan.objects.select_for_update().get(pk=plan.pk)


def _lock_cycle(cycle: PlanCycle) -> PlanCycle:
    return PlanCycle.objects.select_for_update().select_related("plan").get(pk=cycle.pk)


def _sync_plan(plan: ActionPlan, cycle: PlanCycle) -> None:
    """Keep the plan's copy of its latest cycle's status and number (the list filters on them)."""
    if plan.status != cycle.status or plan.cycle_count != cycle.number:
        plan.status, plan.cycle_count = cycle.status, cycle.number
        plan.save(update_fields=["status", "cycle_count", "updated_at"])


def _set_status(cycle: PlanCycle, status: str, fields: list[str]) -> None:
    cycle.status = status
    cycle.full_clean()
    cycle.save(update_fields=[*fields, "status", "updated_at"])
    _sync_plan(cycle.plan, cycle)


def _expect(cycle: PlanCycle, allowed: tuple[str, ...], field: str = "status") -> None:
    if cycle.status not in allowed:
        raise ValidationError({field: _("Cycle %(n)s is in the %(step)s step; this needs %(allowed)s.") % {
            "n": cycle.number, "step": cycle.get_status_display(),
            "allowed": " / ".join(str(CycleStatus(s).label) for s in allowed)}})


# ---- plans ----------------------------------------------------------------------------------------

@transaction.atomic
def plan_create(*, subject: Any, title: str, owner: User, by: User | None = None) -> ActionPlan:
    """An action plan about `subject` (an account, opportunity, unit or person), owned by `owner`."""
    kind = _kind_of(subject)
    plan = ActionPlan(kind=kind, title=(title or "").strip(), owner=owner, **{kind: subject})
    if not plan.title:
        raise ValidationError({"title": _("Give the plan a title.")})
    plan.full_clean()
    plan.save()
    return plan


@transaction.atomic
def plan_update(*, plan: ActionPlan, data: dict[str, Any], by: User | None = None) -> ActionPlan:
    plan = _lock_plan(plan)
    if "title" in data:
        plan.title = (data["title"] or "").strip()
        if not plan.title:
            raise ValidationError({"title": _("Give the plan a title.")})
    if data.get("owner") is not None:
        plan.owner = data["owner"]
    plan.full_clean()
    plan.save()
    return plan


# ---- cycles ---------------------------------------------------------------------------------------

@transaction.atomic
def cycle_open(*, plan: ActionPlan, period_start: dt.date, period_end: dt.date, by: User | None = None) -> PlanCycle:
    """The plan's next cycle, in the plan step. Refused while the previous cycle has no feedback recorded
    (the act step closes a cycle), and for a period that does not follow the previous one."""
    plan = _lock_plan(plan)
    if period_start is None:
        raise ValidationError({"period_start": _("Give the period's first day.")})
    if period_end is None:
        raise ValidationError({"period_end": _("Give the period's last day.")})
    if period_end < period_start:
        raise ValidationError({"period_end": _("The period cannot end before it starts.")})
    previous = PlanCycle.objects.filter(plan=plan).order_by("-number").first()
    if previous is not None:
        if not previous.feedback_recorded:
            raise ValidationError({"feedback": _(
                "Cycle %(n)s has no feedback recorded yet: record its feedback (the act step) before cycle "
                "%(next)s opens.") % {"n": previous.number, "next": previous.number + 1}})
        if period_start <= previous.period_end:
            raise ValidationError({"period_start": _(
                "The new cycle must start after cycle %(n)s ended (%(end)s).")
                % {"n": previous.number, "end": previous.period_end.isoformat()}})
    cycle = PlanCycle(plan=plan, number=(previous.number + 1) if previous else 1, period_start=period_start,
                      period_end=period_end, status=CycleStatus.PLAN)
    cycle.full_clean()
    cycle.save()
    _sync_plan(plan, cycle)
    return cycle


@transaction.atomic
def cycle_start(*, cycle: PlanCycle, by: User | None = None) -> PlanCycle:
    """plan → do: the objectives are set; the actions are worked from now on."""
    cycle = _lock_cycle(cycle)
    _expect(cycle, (CycleStatus.PLAN,))
    if not cycle.objectives.exists():
        raise ValidationError({"objectives": _("Set at least one objective before the cycle starts.")})
    _set_status(cycle, CycleStatus.DO, [])
    return cycle


@transaction.atomic
def cycle_check(*, cycle: PlanCycle, by: User | None = None, at: dt.datetime | None = None) -> PlanCycle:
    """do → check: plan versus actual for every objective, from the live figures, kept with the moment
    they were taken (`check_figures`), so the check shows what the figures were when it was made."""
    cycle = _lock_cycle(cycle)
    _expect(cycle, (CycleStatus.DO,))
    at = at or timezone.now()
    rows = []
    for objective in cycle.objectives.select_related("metric", "product_line").order_by("id"):
        objective.cycle = cycle
        live = selectors.objective_actual(objective)
        rows.append({"objective": objective.pk, "metric": objective.metric.code,
                     "metric_label_en": objective.metric.name_en, "metric_label_zh": objective.metric.name_zh,
                     "product_line": objective.product_line_id,
                     "product_line_label": str(objective.product_line) if objective.product_line_id else "",
                     "is_count": objective.metric.is_count,
                     "target": str(objective.target), "actual": str(live), "gap": str(objective.target - live)})
    cycle.check_figures = {"taken_at": at.isoformat(), "period_start": cycle.period_start.isoformat(),
                           "period_end": cycle.period_end.isoformat(), "objectives": rows}
    cycle.checked_at, cycle.checked_by = at, by
    _set_status(cycle, CycleStatus.CHECK, ["check_figures", "checked_at", "checked_by"])
    return cycle


@transaction.atomic
def cycle_act(*, cycle: PlanCycle, by: User | None = None) -> PlanCycle:
    """check → act: the figures are reviewed; what to change is being decided."""
    cycle = _lock_cycle(cycle)
    _expect(cycle, (CycleStatus.CHECK,))
    _set_status(cycle, CycleStatus.ACT, [])
    return cycle


@transaction.atomic
def cycle_feedback(*, cycle: PlanCycle, feedback: str, by: User | None = None,
                   at: dt.datetime | None = None) -> PlanCycle:
    """The act step: what was learnt and what changes next; required. The cycle is then closed and the
    plan's next cycle may open."""
    cycle = _lock_cycle(cycle)
    _expect(cycle, (CycleStatus.CHECK, CycleStatus.ACT), field="feedback")
    feedback = (feedback or "").strip()
    if not feedback:
        raise ValidationError({"feedback": _("Write the feedback: what was learnt and what changes next cycle.")})
    cycle.feedback, cycle.feedback_by, cycle.feedback_at = feedback, by, at or timezone.now()
    _set_status(cycle, CycleStatus.CLOSED, ["feedback", "feedback_by", "feedback_at"])
    return cycle


# ---- objectives -----------------------------------------------------------------------------------

@transaction.atomic
def objective_add(*, cycle: PlanCycle, metric, target: Decimal, product_line=None, note: str = "",  # noqa: ANN001
                  by: User | None = None) -> Objective:
    """An objective of `cycle`: `metric` (optionally for one product line) to reach `target` for the plan's
    subject over the cycle's period."""
    cycle = _lock_cycle(cycle)
    _expect(cycle, OBJECTIVE_STEPS, field="metric")
    if metric is None:
        raise ValidationError({"metric": _("Choose a metric.")})
    if metric.source not in selectors.SOURCES_FOR[cycle.plan.kind]:
        raise ValidationError({"metric": _("“%(metric)s” cannot be measured for this kind of subject (%(kind)s).")
                               % {"metric": metric, "kind": SubjectKind(cycle.plan.kind).label}})
    if target is None or Decimal(target) < 0:
        raise ValidationError({"target": _("The target cannot be negative.")})
    target = Decimal(target).quantize(metric.quantum)
    objective = Objective(cycle=cycle, metric=metric, product_line=product_line, target=target,
                          note=(note or "").strip())
    objective.full_clean()
    objective.save()
    return objective


# ---- actions --------------------------------------------------------------------------------------

@transaction.atomic
def action_add(*, cycle: PlanCycle, title: str, owner: User, due_on: dt.date, by: User | None = None) -> Action:
    cycle = _lock_cycle(cycle)
    _expect(cycle, ACTION_STEPS, field="title")
    title = (title or "").strip()
    if not title:
        raise ValidationError({"title": _("Say what is to be done.")})
    if owner is None:
        raise ValidationError({"owner": _("Give the action an owner.")})
    if due_on is None:
        raise ValidationError({"due_on": _("Give the action a due date.")})
    action = Action(cycle=cycle, title=title, owner=owner, due_on=due_on)
    action.full_clean()
    action.save()
    return action


def _lock_action(action: Action) -> Action:
    return Action.objects.select_for_update().select_related("cycle__plan").get(pk=action.pk)


@transaction.atomic
def action_update(*, action: Action, data: dict[str, Any], by: User | None = None) -> Action:
    """Change an action's title, owner, due date or status (open, done, cancelled)."""
    action = _lock_action(action)
    _expect(action.cycle, ACTION_STATUS_STEPS)
    if "title" in data:
        action.title = (data["title"] or "").strip()
        if not action.title:
            raise ValidationError({"title": _("Say what is to be done.")})
    if data.get("owner") is not None:
        action.owner = data["owner"]
    if data.get("due_on") is not None:
        action.due_on = data["due_on"]
    status = data.get("status")
    if status:
        if status not in ActionStatus.values:
            raise ValidationError({"status": _("Unknown status “%(status)s”.") % {"status": status}})
        if status != action.status:
            action.status = status
            action.done_at = timezone.now() if status == ActionStatus.DONE else None
    action.full_clean()
    action.save()
    return action


def action_complete(*, action: Action, by: User | None = None) -> Action:
    return action_update(action=action, data={"status": ActionStatus.DONE}, by=by)


# ---- the same, for a user (visibility and edit rights) --------------------------------------------

def _editable_plan(user: User, plan_id: int) -> ActionPlan:
    """The plan if `user` may edit it; 404 if they may not even see it."""
    plan = selectors.plan_visible_or_404(user=user, plan_id=plan_id, action=VIEW)
    if not selectors.plan_queryset(user, EDIT).filter(pk=plan.pk).exists():
        raise ValidationError({"plan": _("You may see this plan but not change it.")})
    return plan


def _cycle_of(plan: ActionPlan, cycle_id: int) -> PlanCycle:
    cycle = PlanCycle.objects.select_related("plan").filter(plan=plan, pk=cycle_id).first()
    if cycle is None:
        raise Http404
    return cycle


def plan_create_for(*, user: User, kind: str, subject: Any, title: str, owner: User | None = None) -> ActionPlan:
    if kind not in SUBJECT_FIELDS or subject is None:
        raise ValidationError({kind if kind in SUBJECT_FIELDS else "kind": _("Choose what the plan is about.")})
    if not selectors.subject_visible(user=user, kind=kind, subject=subject, action=EDIT):
        raise ValidationError({kind: _("You may not plan for %(subject)s.") % {"subject": subject}})
    return plan_create(subject=subject, title=title, owner=owner or user, by=user)


def plan_update_for(*, user: User, plan_id: int, data: dict[str, Any]) -> ActionPlan:
    return plan_update(plan=_editable_plan(user, plan_id), data=data, by=user)


def cycle_open_for(*, user: User, plan_id: int, period_start: dt.date, period_end: dt.date) -> PlanCycle:
    return cycle_open(plan=_editable_plan(user, plan_id), period_start=period_start, period_end=period_end, by=user)


def cycle_step_for(*, user: User, plan_id: int, cycle_id: int, step: str, feedback: str = "") -> PlanCycle:
    """Move a cycle on: "start" (plan → do), "check", "act", "feedback" (→ closed)."""
    cycle = _cycle_of(_editable_plan(user, plan_id), cycle_id)
    if step == "start":
        return cycle_start(cycle=cycle, by=user)
    if step == "check":
        return cycle_check(cycle=cycle, by=user)
    if step == "act":
        return cycle_act(cycle=cycle, by=user)
    if step == "feedback":
        return cycle_feedback(cycle=cycle, feedback=feedback, by=user)
    raise ValidationError({"step": _("Unknown step “%(step)s”.") % {"step": step}})


def objective_add_for(*, user: User, plan_id: int, cycle_id: int, **data: Any) -> Objective:
    return objective_add(cycle=_cycle_of(_editable_plan(user, plan_id), cycle_id), by=user, **data)


def action_add_for(*, user: User, plan_id: int, cycle_id: int, **data: Any) -> Action:
    return action_add(cycle=_cycle_of(_editable_plan(user, plan_id), cycle_id), by=user, **data)


def action_update_for(*, user: User, plan_id: int, action_id: int, data: dict[str, Any]) -> Action:
    """Who edits the plan changes its actions; an action's owner who sees the plan may change its status."""
    plan = selectors.plan_visible_or_404(user=user, plan_id=plan_id, action=VIEW)
    action = Action.objects.select_related("cycle").filter(cycle__plan=plan, pk=action_id).first()
    if action is None:
        raise Http404
    if not selectors.plan_queryset(user, EDIT).filter(pk=plan.pk).exists():
        if action.owner_id != user.pk or set(data) - {"status"}:
            raise ValidationError({"plan": _("You may see this plan but not change it.")})
    return action_update(action=action, data=data, by=user)


def action_complete_for(*, user: User, plan_id: int, action_id: int) -> Action:
    return action_update_for(user=user, plan_id=plan_id, action_id=action_id, data={"status": ActionStatus.DONE})


# ---- weekly plans and reports -------------------------------------------------------------------------
# The person writes their own week: items (draft), shares the plan, reports per item and submits at the
# week's end; a manager whose reach covers them reviews it with a comment, after which nothing changes.
# `by` is who acts (None: the system, e.g. a data load); a person other than `by` is refused by name.

WEEKS_AHEAD = 4


def _lock_weekly(weekly: WeeklyPlan) -> WeeklyPlan:
    return WeeklyPlan.objects.select_for_update().select_related("person").get(pk=weekly.pk)


def _own(weekly: WeeklyPlan, by: User | None) -> None:
    if by is not None and by.pk != weekly.person_id:
        raise ValidationError({"person": _("Only %(person)s writes this weekly plan and report.")
                               % {"person": weekly.person}})


def _not_reviewed(weekly: WeeklyPlan, field: str = "status") -> None:
    if weekly.status == WeeklyStatus.REVIEWED:
        raise ValidationError({field: _("The report for %(week)s has been reviewed; it can no longer be changed.")
                               % {"week": weekly.week_label}})


@transaction.atomic
def weekly_create(*, person: User, year: int, week: int, by: User | None = None,
                  today: dt.date | None = None) -> WeeklyPlan:
    """`person`'s plan for ISO week `week` of `year`: one per person and week, at most four weeks ahead."""
    today = today or timezone.localdate()
    start = selectors.week_start(year, week)
    if by is not None and by.pk != person.pk:
        raise ValidationError({"person": _("You write only your own weekly plan.")})
    if start > today + dt.timedelta(weeks=WEEKS_AHEAD):
        raise ValidationError({"week": _("Plan at most %(n)s weeks ahead.") % {"n": WEEKS_AHEAD}})
    label = selectors.week_label(year, week)
    if WeeklyPlan.objects.filter(person=person, year=year, week=week).exists():
        raise ValidationError({"week": _("%(person)s already has a weekly plan for %(week)s.")
                               % {"person": person, "week": label}})
    weekly = WeeklyPlan(person=person, year=year, week=week, week_start=start)
    weekly.full_clean()
    weekly.save()
    return weekly


@transaction.atomic
def weekly_item_add(*, weekly: WeeklyPlan, title: str, kind: str = WeeklyItemKind.OTHER, account=None,  # noqa: ANN001
                    opportunity=None, by: User | None = None) -> WeeklyItem:  # noqa: ANN001
    """A planned item; an account or opportunity it names must be one the person sees, and an opportunity
    brings its account along."""
    from kamcrm.org.selectors import can

    weekly = _lock_weekly(weekly)
    _own(weekly, by)
    _not_reviewed(weekly)
    title = (title or "").strip()
    if not title:
        raise ValidationError({"title": _("Say what you plan to do.")})
    if kind not in WeeklyItemKind.values:
        raise ValidationError({"kind": _("Unknown kind “%(kind)s”.") % {"kind": kind}})
    if account is not None and not can(weekly.person, account):
        raise ValidationError({"account": _("%(person)s does not see the account %(account)s.")
                               % {"person": weekly.person, "account": account}})
    if opportunity is not None:
        if not can(weekly.person, opportunity):
            raise ValidationError({"opportunity": _("%(person)s does not see the opportunity %(opportunity)s.")
                                   % {"person": weekly.person, "opportunity": opportunity}})
        if account is not None and opportunity.account_id != account.pk:
            raise ValidationError({"opportunity": _("The opportunity %(opportunity)s is not about %(account)s.")
                                   % {"opportunity": opportunity, "account": account}})
        account = account or opportunity.account
    position = (weekly.items.order_by("-position").values_list("position", flat=True).first() or 0) + 1
    item = WeeklyItem(weekly=weekly, kind=kind, title=title, account=account, opportunity=opportunity,
                      position=position)
    item.full_clean()
    item.save()
    return item


@transaction.atomic
def weekly_item_remove(*, item: WeeklyItem, by: User | None = None) -> None:
    """Items go only before the plan is shared: afterwards planned stays planned (report it not done)."""
    weekly = _lock_weekly(item.weekly)
    _own(weekly, by)
    _not_reviewed(weekly)
    if weekly.plan_submitted_at is not None:
        raise ValidationError({"items": _("The plan was shared: “%(item)s” stays; report it as not done instead.")
                               % {"item": item.title}})
    item.delete()


@transaction.atomic
def weekly_plan_submit(*, weekly: WeeklyPlan, by: User | None = None, at: dt.datetime | None = None) -> WeeklyPlan:
    """Share the plan with the manager: it is then "in" on the roll-up. Needs at least one item."""
    weekly = _lock_weekly(weekly)
    _own(weekly, by)
    _not_reviewed(weekly)
    if weekly.plan_submitted_at is not None:
        raise ValidationError({"status": _("The plan for %(week)s was shared already.") % {"week": weekly.week_label}})
    if not weekly.items.exists():
        raise ValidationError({"items": _("Add at least one item before sharing the plan.")})
    weekly.plan_submitted_at = at or timezone.now()
    weekly.save(update_fields=["plan_submitted_at", "updated_at"])
    return weekly


@transaction.atomic
def weekly_report_save(*, weekly: WeeklyPlan, outcomes: dict[int, tuple[bool | None, str]] | None = None,
                       summary: str | None = None, next_focus: str | None = None, submit: bool = False,
                       by: User | None = None, today: dt.date | None = None,
                       at: dt.datetime | None = None) -> WeeklyPlan:
    """Write the report: per item done / not done and a note (`outcomes` by item id), the summary and next
    week's focus. With `submit`, the report is handed in: not for a week that has not started, with a
    summary and every item answered; the week's live figures are kept with it. A submitted report may be
    amended (and is then submitted again) until it is reviewed."""
    weekly = _lock_weekly(weekly)
    _own(weekly, by)
    _not_reviewed(weekly)
    items = {item.pk: item for item in weekly.items.order_by("position", "id")}
    for item_id, (done, note) in (outcomes or {}).items():
        item = items.get(int(item_id))
        if item is None:
            raise ValidationError({"items": _("Item %(id)s is not part of this weekly plan.") % {"id": item_id}})
        note = (note or "").strip()
        if len(note) > WeeklyItem._meta.get_field("note").max_length:
            raise ValidationError({"items": _("The note on “%(item)s” is too long (at most %(n)s characters).")
                                   % {"item": item.title, "n": WeeklyItem._meta.get_field("note").max_length}})
        if (item.done, item.note) != (done, note):
            item.done, item.note = done, note
            item.save(update_fields=["done", "note", "updated_at"])
    if summary is not None:
        weekly.summary = summary.strip()
    if next_focus is not None:
        weekly.next_focus = next_focus.strip()
    fields = ["summary", "next_focus", "updated_at"]
    if submit:
        today = today or timezone.localdate()
        if weekly.week_start > today:
            raise ValidationError({"week": _("The week %(week)s has not started yet: its report cannot be submitted.")
                                   % {"week": weekly.week_label}})
        if not weekly.summary:
            raise ValidationError({"summary": _("Write a summary of the week before submitting the report.")})
        unanswered = [item.title for item in items.values() if item.done is None]
        if unanswered:
            raise ValidationError({"items": _("Say whether each item was done: %(items)s.")
                                   % {"items": ", ".join(unanswered)}})
        figures = selectors.week_figures(person_ids=[weekly.person_id], start=weekly.week_start)[weekly.person_id]
        weekly.figures = {"taken_at": (at or timezone.now()).isoformat(), **figures.as_dict()}
        weekly.status, weekly.submitted_at = WeeklyStatus.SUBMITTED, at or timezone.now()
        fields += ["figures", "status", "submitted_at"]
    weekly.full_clean()
    weekly.save(update_fields=fields)
    return weekly


@transaction.atomic
def weekly_review(*, weekly: WeeklyPlan, comment: str, by: User | None = None,
                  at: dt.datetime | None = None) -> WeeklyPlan:
    """A manager's comment on a submitted report; the week is then closed to changes."""
    weekly = _lock_weekly(weekly)
    if by is not None and not selectors.may_review(by, weekly):
        raise ValidationError({"review_comment": _("Only a manager of %(person)s reviews this report.")
                               % {"person": weekly.person}})
    _not_reviewed(weekly, field="review_comment")
    if weekly.status != WeeklyStatus.SUBMITTED:
        raise ValidationError({"review_comment": _("The report for %(week)s has not been submitted yet.")
                               % {"week": weekly.week_label}})
    comment = (comment or "").strip()
    if not comment:
        raise ValidationError({"review_comment": _("Write a comment for %(person)s.") % {"person": weekly.person}})
    weekly.review_comment, weekly.reviewed_by, weekly.reviewed_at = comment, by, at or timezone.now()
    weekly.status = WeeklyStatus.REVIEWED
    weekly.full_clean()
    weekly.save(update_fields=["review_comment", "reviewed_by", "reviewed_at", "status", "updated_at"])
    return weekly

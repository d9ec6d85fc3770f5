"""What produces notifications: the target reviews (called by targets.services inside their transaction,
so a notification exists exactly when its approval or send-back committed) and the daily scan of overdue
POA actions and mid-month completion (management command notify_scan).

Dedupe keys, one notification per recipient and key:
- targets approved / sent back: "review:<TargetReview id>" — once per review step;
- action overdue: "action:<id>:<due date>" — once per action, again only if it is given a new due date
  and misses that too;
- completion behind: "p<person>:m<metric>:<YYYY-MM>" — once per person, metric and month (the manager's
  copy has the same key, under the manager as recipient).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

from django.conf import settings
from django.urls import reverse

from kamcrm.notifications.choices import Kind
from kamcrm.notifications.services import Draft, notify, notify_many
from kamcrm.org.models import User

MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
ALERT_FROM_DAY = 15  # completion alerts start at mid-month: earlier, a month-to-date figure says little


# ---- target plans (K7) ---------------------------------------------------------------------------

def target_plan_approved(*, review) -> int:
    """The split below `review.unit` was approved: tell each active person holding a target in that
    subtree of the plan. Two queries."""
    from kamcrm.targets.models import TargetLine

    plan, unit = review.plan, review.unit
    holders = (TargetLine.objects.filter(plan_id=plan.pk, person__isnull=False, unit__path__startswith=unit.path)
               .order_by().values("person_id"))
    people = User.objects.filter(pk__in=holders, is_active=True).values_list("pk", flat=True)
    return notify(list(people), kind=Kind.TARGET_ASSIGNED, key=f"review:{review.pk}",
                  params={"year": str(plan.year), "unit": unit.name, "plan": str(plan)},
                  url=reverse("targets:plan_detail", args=[plan.pk]))


def target_plan_sent_back(*, review) -> int:
    """The split below `review.unit` was sent back: tell whoever last submitted that level and the
    unit's head (not the person sending it back), with the comment. Two queries."""
    from kamcrm.targets.choices import ReviewAction
    from kamcrm.targets.models import TargetReview

    plan, unit = review.plan, review.unit
    submitter = (TargetReview.objects.filter(plan_id=plan.pk, unit_id=unit.pk, action=ReviewAction.SUBMIT)
                 .order_by("-at", "-id").values_list("by_id", flat=True).first())
    recipients = {submitter, unit.head_id} - {None, review.by_id}
    return notify(recipients, kind=Kind.PLAN_SENT_BACK, key=f"review:{review.pk}",
                  params={"unit": unit.name, "plan": str(plan), "by": str(review.by) if review.by_id else "—",
                          "comment": review.comment},
                  url=reverse("targets:plan_detail", args=[plan.pk]))


# ---- the daily scan ------------------------------------------------------------------------------

def _overdue_drafts(today: dt.date) -> Iterator[Draft]:
    # poa.selectors.overdue_actions reads one person's actions through the viewer's visibility; the scan
    # needs every owner's at once, so it reads the same rows (open, due before today) in one query.
    from kamcrm.poa.choices import ActionStatus
    from kamcrm.poa.models import Action

    actions = (Action.objects.filter(status=ActionStatus.OPEN, due_on__lt=today, owner__is_active=True)
               .select_related("cycle__plan").order_by("id"))
    for action in actions.iterator(chunk_size=2000):
        plan = action.cycle.plan
        yield Draft(recipient_id=action.owner_id, kind=Kind.ACTION_OVERDUE,
                    key=f"action:{action.pk}:{action.due_on.isoformat()}", message="action_overdue",
                    params={"action": action.title, "plan": plan.title, "due": action.due_on.isoformat()},
                    url=reverse("poa:plan_detail", args=[plan.pk]))


def overdue_actions_scan(*, today: dt.date) -> int:
    """Tell the owner of each open action past its due date; returns how many notifications were new."""
    return notify_many(_overdue_drafts(today))


def alert_percent() -> Decimal:
    return Decimal(str(getattr(settings, "KAMCRM_COMPLETION_ALERT_PERCENT", 40)))


def _manager_id(person: User) -> int | None:
    """The person's unit head, or their own manager when they head the unit or it has no head."""
    head = person.unit.head_id if person.unit_id else None
    return head if head and head != person.pk else person.manager_id


def _completion_drafts(today: dt.date) -> Iterator[Draft]:
    from kamcrm.targets import selectors as targets
    from kamcrm.targets.models import TargetLine

    plan = targets.plan_in_force(year=today.year)
    if plan is None:
        return
    threshold = alert_percent()
    month_start = today.replace(day=1)
    month = {"zh-hans": f"{today.year}年{today.month}月", "en": f"{MONTHS_EN[today.month - 1]} {today.year}"}
    base = reverse("targets:completion")
    # Each person's own target of each active metric this month (not the product-line narrowed ones).
    lines = (TargetLine.objects.filter(plan=plan, month=today.month, person__isnull=False, is_unallocated=False,
                                       product_line__isnull=True, amount__gt=0, metric__is_active=True,
                                       person__is_active=True)
             .select_related("metric", "person__unit").order_by("person_id", "metric__order", "metric_id"))
    for line in lines:
        person, metric = line.person, line.metric
        # the month's actual from the 1st to `today`: one aggregate on the metric's source (targets.selectors)
        actual = targets.actual(metric=metric, subject=person, start=month_start, end=today)
        ratio = (actual * 100 / line.amount).quantize(Decimal("0.1"))
        if ratio >= threshold:
            continue
        key = f"p{person.pk}:m{metric.pk}:{today:%Y-%m}"
        params = {"metric": {"zh-hans": metric.name_zh, "en": metric.name_en}, "month": month,
                  "ratio": f"{ratio}%", "threshold": f"{threshold.normalize():f}%", "person": str(person)}
        url = f"{base}?person={person.pk}&metric={metric.code}&on={today.isoformat()}"
        yield Draft(recipient_id=person.pk, kind=Kind.COMPLETION_BELOW, key=key, message="completion_below",
                    params=params, url=url)
        manager = _manager_id(person)
        if manager:
            yield Draft(recipient_id=manager, kind=Kind.COMPLETION_BELOW, key=key,
                        message="completion_below_report", params=params, url=url)


def completion_scan(*, today: dt.date) -> int:
    """From the 15th of the month: tell each person whose month-to-date actual of a metric is below
    KAMCRM_COMPLETION_ALERT_PERCENT % of their target for the month, and their manager, once per person,
    metric and month. The threshold is a plain share of the month's target, not pro-rated by the days
    elapsed: at mid-month the straight-line pace is about 50 %, so the default 40 % means clearly behind,
    and on later days the same threshold flags only those far behind. One aggregate query per person and
    metric with a target this month (the sources differ; each is read as targets.selectors.actual does)."""
    if today.day < ALERT_FROM_DAY:
        return 0
    return notify_many(_completion_drafts(today))


def daily_scan(*, today: dt.date) -> dict[str, int]:
    """Both scans; safe to run any number of times a day."""
    return {"action_overdue": overdue_actions_scan(today=today), "completion_below": completion_scan(today=today)}


__all__ = ["target_plan_approved", "target_plan_sent_back", "overdue_actions_scan", "completion_scan",
           "daily_scan", "alert_percent"]

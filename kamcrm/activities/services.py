"""Every write to tasks, sales plans, visits and calendar feeds."""
from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kamcrm.activities.choices import TaskStatus, VisitStatus
from kamcrm.activities.models import CalendarFeed, SalesPlan, Task, Visit
from kamcrm.core.services import model_update
from kamcrm.org.models import User

TASK_FIELDS = ["title", "description", "assignee", "due_on", "account", "opportunity"]


@transaction.atomic
def task_create(*, title: str, assignee: User, by: User | None = None, **data: Any) -> Task:
    task = Task(title=(title or "").strip(), assignee=assignee, created_by=by, **data)
    task.full_clean()
    task.save()
    return task


@transaction.atomic
def task_update(*, task: Task, data: dict[str, Any], by: User | None = None) -> Task:
    task, _changed = model_update(instance=task, fields=TASK_FIELDS, data=data)
    return task


@transaction.atomic
def task_set_status(*, task: Task, status: str, by: User | None = None) -> Task:
    if status not in TaskStatus.values:
        raise ValidationError({"status": _("Unknown status.")})
    task = Task.objects.select_for_update().get(pk=task.pk)
    if task.status == status:
        return task
    task.status = status
    task.done_at = timezone.now() if status == TaskStatus.DONE else None
    task.save(update_fields=["status", "done_at", "updated_at"])
    return task


# --- sales plans and visits (K7) -----------------------------------------------------------------------

PLAN_FIELDS = ["title", "owner", "opportunity", "deadline", "steps", "status"]
VISIT_FIELDS = ["owner", "opportunity", "sales_plan", "starts_at", "ends_at", "location", "purpose", "preparation",
                "follow_up_on"]


def _check_links(account, *, opportunity=None, contacts=(), sales_plan=None) -> None:  # noqa: ANN001
    if opportunity is not None and opportunity.account_id != account.pk:
        raise ValidationError({"opportunity": _("The opportunity must be one of this account's.")})
    if any(c.account_id != account.pk for c in contacts):
        raise ValidationError({"contacts": _("The contacts must be contacts of this account.")})
    if sales_plan is not None and sales_plan.account_id != account.pk:
        raise ValidationError({"sales_plan": _("The sales plan must be one of this account's.")})


def _check_owner(owner: User, by: User | None) -> None:
    from kamcrm.customers.services import owner_assignable

    if by is not None and not owner_assignable(by=by, owner=owner):
        raise ValidationError({"owner": _("The owner must be you or someone whose accounts you may edit.")})


@transaction.atomic
def sales_plan_create(*, account, title: str, owner: User, deadline, by: User | None = None,  # noqa: ANN001
                      helpers=(), products=(), **data: Any) -> SalesPlan:
    _check_owner(owner, by)
    _check_links(account, opportunity=data.get("opportunity"))
    plan = SalesPlan(account=account, title=(title or "").strip(), owner=owner, deadline=deadline, **data)
    plan.full_clean()
    plan.save()
    plan.helpers.set(helpers)
    plan.products.set(products)
    return plan


@transaction.atomic
def sales_plan_update(*, plan: SalesPlan, data: dict[str, Any], by: User | None = None) -> SalesPlan:
    data = dict(data)
    helpers, products = data.pop("helpers", None), data.pop("products", None)
    if data.get("owner") is not None and data["owner"].pk != plan.owner_id:
        _check_owner(data["owner"], by)
    _check_links(plan.account, opportunity=data.get("opportunity"))
    plan, _changed = model_update(instance=plan, fields=PLAN_FIELDS, data=data)
    if helpers is not None:
        plan.helpers.set(helpers)
    if products is not None:
        plan.products.set(products)
    return plan


@transaction.atomic
def visit_plan(*, account, owner: User, starts_at, ends_at=None, purpose: str, by: User | None = None,  # noqa: ANN001
               contacts=(), **data: Any) -> Visit:
    """Plan a visit; it shows in the visitor's calendar and iCalendar feed."""
    _check_owner(owner, by)
    _check_links(account, opportunity=data.get("opportunity"), contacts=contacts, sales_plan=data.get("sales_plan"))
    ends_at = ends_at or starts_at + dt.timedelta(hours=1)
    if ends_at < starts_at:
        raise ValidationError({"ends_at": _("The visit cannot end before it starts.")})
    visit = Visit(account=account, owner=owner, starts_at=starts_at, ends_at=ends_at, purpose=(purpose or "").strip(),
                  **data)
    visit.full_clean()
    visit.save()
    visit.contacts.set(contacts)
    return visit


@transaction.atomic
def visit_record(*, visit: Visit, outcome: str, next_step: str = "", follow_up_on=None,  # noqa: ANN001
                 by: User | None = None) -> Visit:
    """Record what a visit achieved: it becomes a visit on the account's timeline; a follow-up date makes
    a task for the visitor."""
    from kamcrm.customers.services import interaction_log

    visit = Visit.objects.select_for_update().get(pk=visit.pk)
    if visit.status == VisitStatus.CANCELLED:
        raise ValidationError({"status": _("A cancelled visit cannot be recorded; plan a new one.")})
    if not (outcome or "").strip():
        raise ValidationError({"outcome": _("Say what the visit achieved.")})
    first_time = visit.status != VisitStatus.DONE
    visit.status, visit.outcome, visit.next_step, visit.follow_up_on = (
        VisitStatus.DONE, outcome.strip(), (next_step or "").strip(), follow_up_on)
    visit.full_clean()
    visit.save()
    if first_time:
        body = visit.outcome + (f"\n{_('Next step')}: {visit.next_step}" if visit.next_step else "")
        interaction_log(account=visit.account, kind="visit", subject=visit.purpose, body=body,
                        occurred_at=visit.starts_at, by=by or visit.owner)
        if follow_up_on:
            task_create(title=_("Follow up: %(p)s") % {"p": visit.next_step or visit.purpose}, assignee=visit.owner,
                        by=by, due_on=follow_up_on, account=visit.account, opportunity=visit.opportunity)
    return visit


@transaction.atomic
def visit_cancel(*, visit: Visit, by: User | None = None) -> Visit:
    if visit.status == VisitStatus.DONE:
        raise ValidationError({"status": _("This visit has been recorded; it cannot be cancelled.")})
    visit.status = VisitStatus.CANCELLED
    visit.save(update_fields=["status", "updated_at"])
    return visit


def calendar_feed_token(*, user: User, renew: bool = False) -> str:
    """The person's feed token (made on first use; `renew` replaces it, revoking the old address)."""
    feed = CalendarFeed.objects.filter(user=user).first()
    if feed is None:
        feed = CalendarFeed.objects.create(user=user, token=secrets.token_urlsafe(32))
    elif renew:
        feed.token = secrets.token_urlsafe(32)
        feed.save(update_fields=["token"])
    return feed.token

"""Reassigning an account's owner with an effective date (K16), and what moves with it.

The effective date may be today or in the past (a change made late); the owner before it keeps what
they achieved before it. By policy:
- "open" (default): the account, its open opportunities owned by the old owner, the opportunities
  they won on or after the effective date, and their open tasks on the account move to the new owner.
  Deals the old owner won or lost before the date stay theirs, so their attainment does not move.
- "account_only": only the account moves; opportunities and tasks stay with whoever has them.
Future revenue (agreement schedules) follows the account once agreements exist (issue 5).

The account's ownership history (customers.AccountOwnership) gets the old owner's period closed the
day before the effective date and the new owner's opened on it; every record changed is audited
(the services and record_bulk write the audit rows) and the account's timeline says what moved.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from kamcrm.activities.choices import TaskStatus
from kamcrm.activities.models import Task
from kamcrm.audit.models import TimelineEvent
from kamcrm.customers import services as customer_services
from kamcrm.customers.models import Account, AccountOwnership
from kamcrm.org.models import User
from kamcrm.org.selectors import EDIT, get_visible_or_404
from kamcrm.sales.choices import StageKind
from kamcrm.sales.models import Opportunity
from kamcrm.sales.services import opportunity_update

POLICIES = ("open", "account_only")


@dataclass
class Reassignment:
    account: Account
    old_owner: User
    new_owner: User
    effective_on: dt.date
    opportunities: int = 0
    tasks: int = 0


@transaction.atomic
def account_reassign(*, account: Account, owner: User, effective_on: dt.date | None = None, policy: str = "open",
                     reason: str = "", by: User | None = None) -> Reassignment:
    today = timezone.localdate()
    effective_on = effective_on or today
    if policy not in POLICIES:
        raise ValidationError({"policy": _("Unknown policy; use one of: %(p)s.") % {"p": ", ".join(POLICIES)}})
    if effective_on > today:
        raise ValidationError({"effective_on": _("The effective date cannot be in the future; reassign on that day.")})
    account = Account.objects.select_for_update().get(pk=account.pk)
    old_owner = account.owner
    if owner.pk == old_owner.pk:
        raise ValidationError({"owner": _("This person already owns the account.")})
    current = AccountOwnership.objects.filter(account=account, valid_to__isnull=True).first()
    if current is not None and effective_on <= current.valid_from:
        raise ValidationError({"effective_on": _("The effective date must be after %(d)s, when the current owner "
                                                 "took over.") % {"d": current.valid_from}})
    customer_services.account_update(account=account, data={"owner": owner}, by=by)
    day_before = effective_on - dt.timedelta(days=1)
    if current is None:
        # The owner so far held it since it was recorded here, or since before (a late, back-dated change
        # to an account imported after the fact).
        current = AccountOwnership.objects.create(
            account=account, owner=old_owner, owner_unit_id=old_owner.unit_id or account.owner_unit_id,
            valid_from=min(timezone.localdate(account.created_at), day_before), changed_by=by)
    current.valid_to = day_before
    current.save(update_fields=["valid_to"])
    AccountOwnership.objects.create(account=account, owner=owner, owner_unit_id=owner.unit_id, valid_from=effective_on,
                                    changed_by=by, reason=reason[:200])
    result = Reassignment(account=account, old_owner=old_owner, new_owner=owner, effective_on=effective_on)
    if policy == "open":
        moving = Opportunity.objects.select_for_update().filter(account=account, owner=old_owner).filter(
            Q(stage__kind=StageKind.OPEN) | Q(stage__kind=StageKind.WON, closed_on__gte=effective_on))
        for opportunity in moving:
            opportunity_update(opportunity=opportunity, data={"owner": owner}, by=None)
            result.opportunities += 1
        tasks = Task.objects.filter(account=account, assignee=old_owner, status=TaskStatus.OPEN)
        for task in tasks:
            task.assignee = owner
            task.save(update_fields=["assignee", "updated_at"])
            result.tasks += 1
    TimelineEvent.objects.create(
        account_id=account.pk, occurred_at=timezone.now(), kind="owner_change",
        summary=_("Account manager %(old)s → %(new)s from %(date)s; %(o)d opportunities and %(t)d tasks moved")
        % {"old": old_owner, "new": owner, "date": effective_on, "o": result.opportunities, "t": result.tasks},
        actor=by, content_type=ContentType.objects.get_for_model(Account), object_id=account.pk,
        data={"from": old_owner.pk, "to": owner.pk, "effective_on": effective_on.isoformat(), "policy": policy},
    )
    return result


def account_reassign_for(*, user: User, account_id: int, **data) -> Reassignment:  # noqa: ANN003
    """The UI and API path: `user` must be able to edit the account and to assign the new owner."""
    with transaction.atomic():
        account = get_visible_or_404(Account.objects.select_for_update(), user, EDIT, pk=account_id)
        owner = data.get("owner")
        if owner is not None and not customer_services.owner_assignable(by=user, owner=owner):
            raise ValidationError({"owner": _("The account manager must be you or someone whose accounts you may "
                                              "edit (a person below you, or in the units you manage).")})
        return account_reassign(account=account, by=user, **data)


def account_owner_on(*, account: Account, day: dt.date) -> User:
    """Who owned the account on `day` (the current owner when it was never reassigned)."""
    period = (AccountOwnership.objects.filter(account=account, valid_from__lte=day)
              .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=day)).select_related("owner").first())
    if period is not None:
        return period.owner
    first = AccountOwnership.objects.filter(account=account).order_by("valid_from").select_related("owner").first()
    return first.owner if first is not None else account.owner

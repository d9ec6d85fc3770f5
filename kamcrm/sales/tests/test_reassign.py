"""Reassigning an account with an effective date: what moves by policy, what stays with the old owner
(attainment before the date), the ownership history, permissions, and no orphaned record."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils import timezone

from kamcrm.activities.services import task_create
from kamcrm.audit.models import ObjectChange, TimelineEvent
from kamcrm.customers.models import AccountOwnership
from kamcrm.sales import services
from kamcrm.sales.models import Opportunity, Stage
from kamcrm.sales.reassign import account_owner_on, account_reassign, account_reassign_for

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()


def at(day):
    return timezone.make_aware(dt.datetime.combine(day, dt.time(9)))


def stage(code):
    return Stage.objects.get(code=code)


@pytest.fixture
def deals(org):
    def make(name, code, closed_days_ago=None):
        o = services.opportunity_create(account=org.acct, name=name, owner=org.rep, amount=Decimal("100"),
                                        entered_at=at(TODAY - dt.timedelta(days=90)))
        if code != "obtained":
            kwargs = {"lost_reason": "价格"} if code == "lost" else {}
            services.opportunity_move(opportunity=o, stage=stage(code), check=False,
                                      at=at(TODAY - dt.timedelta(days=closed_days_ago or 1)), **kwargs)
        return o

    return {
        "open": make("open deal", "created"),
        "won_before": make("won before", "won", closed_days_ago=40),
        "won_after": make("won after", "won", closed_days_ago=5),
        "lost_before": make("lost before", "lost", closed_days_ago=40),
    }


def test_open_and_later_won_deals_move_attainment_before_the_date_stays(org, deals):
    task_create(title="回访", assignee=org.rep, account=org.acct)
    effective = TODAY - dt.timedelta(days=10)
    result = account_reassign(account=org.acct, owner=org.peer, effective_on=effective, by=org.manager,
                              reason="调整片区")
    owners = {o.name: o.owner for o in Opportunity.objects.all()}
    assert owners == {"open deal": org.peer, "won after": org.peer, "won before": org.rep, "lost before": org.rep}
    assert (result.opportunities, result.tasks) == (2, 1)
    assert all(o.owner_unit_id == o.owner.unit_id for o in Opportunity.objects.select_related("owner"))
    org.acct.refresh_from_db()
    assert org.acct.owner == org.peer
    periods = list(AccountOwnership.objects.filter(account=org.acct).values_list("owner_id", "valid_from", "valid_to"))
    assert periods == [(org.rep.pk, effective - dt.timedelta(days=1), effective - dt.timedelta(days=1)),
                       (org.peer.pk, effective, None)]  # the account was recorded today: back-dated start
    assert account_owner_on(account=org.acct, day=effective - dt.timedelta(days=1)) == org.rep
    assert account_owner_on(account=org.acct, day=effective) == org.peer
    assert TimelineEvent.objects.filter(account=org.acct, kind="owner_change").count() == 1
    change = ObjectChange.objects.filter(content_type__model="account", object_id=org.acct.pk, action="update").latest("id")
    assert change.changes["owner_id"] == [org.rep.pk, org.peer.pk]


def test_account_only_moves_nothing_else(org, deals):
    account_reassign(account=org.acct, owner=org.peer, policy="account_only", by=org.manager)
    assert set(Opportunity.objects.values_list("owner_id", flat=True)) == {org.rep.pk}


@pytest.mark.parametrize("kwargs, field", [
    ({"effective_on": TODAY + dt.timedelta(days=1)}, "effective_on"),
    ({"policy": "everything"}, "policy"),
])
def test_bad_requests_name_the_field_and_change_nothing(org, deals, kwargs, field):
    with pytest.raises(ValidationError) as caught:
        account_reassign(account=org.acct, owner=org.peer, by=org.manager, **kwargs)
    assert field in caught.value.message_dict
    org.acct.refresh_from_db()
    assert org.acct.owner == org.rep and not AccountOwnership.objects.exists()


def test_only_someone_who_may_edit_the_account_and_assign_the_owner(org, deals):
    with pytest.raises(Http404):
        account_reassign_for(user=org.outsider, account_id=org.acct.pk, owner=org.outsider)
    with pytest.raises(ValidationError) as caught:
        account_reassign_for(user=org.manager, account_id=org.acct.pk, owner=org.outsider)
    assert "owner" in caught.value.message_dict
    account_reassign_for(user=org.manager, account_id=org.acct.pk, owner=org.peer)
    org.acct.refresh_from_db()
    assert org.acct.owner == org.peer


def test_a_second_reassignment_continues_the_history(org, deals):
    account_reassign(account=org.acct, owner=org.peer, effective_on=TODAY - dt.timedelta(days=10), by=org.manager)
    account_reassign(account=org.acct, owner=org.manager, effective_on=TODAY, by=org.manager)
    periods = list(AccountOwnership.objects.filter(account=org.acct).order_by("valid_from")
                   .values_list("owner_id", "valid_to"))
    assert [p[0] for p in periods] == [org.rep.pk, org.peer.pk, org.manager.pk]
    assert periods[1][1] == TODAY - dt.timedelta(days=1) and periods[2][1] is None
    with pytest.raises(ValidationError):  # not before the current owner's start
        account_reassign(account=org.acct, owner=org.rep, effective_on=TODAY - dt.timedelta(days=20), by=org.manager)

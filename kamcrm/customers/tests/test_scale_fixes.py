"""What the scale benchmark (issue 7) changed in the account list's reads, pinned by behaviour: the region
filter keeps taking the whole subtree, the tier filter needs no DISTINCT, and the team's accounts stay
visible whether the reach lists them by id or (for a user on very many teams) correlates a subquery."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kamcrm.customers import selectors, services
from kamcrm.org import selectors as org_selectors
from kamcrm.org import services as org_services
from kamcrm.org.choices import UnitKind


def test_region_filter_takes_the_subtree_and_tier_filter_needs_no_distinct(org):
    # given an account in a region below East, and one in East itself
    sub = org_services.org_unit_create(name="苏州办事处", code="EAST-SZ", kind=UnitKind.REGION, parent=org.east)
    inner = services.account_create(name="苏州工业园区管委会", region=sub, owner=org.rep, tier="key")
    # when the executive filters by East and tier "key"
    with CaptureQueriesContext(connection) as ctx:
        page = selectors.account_list(user=org.exec_, filters={"region": str(org.east.pk), "tier": ["key"]})
    # then both key accounts of the subtree come, West's strategic one does not
    assert {a.pk for a in page.items} == {org.acct.pk, inner.pk}
    # and the page is read without DISTINCT (a column filter), so a bounded count stays a bounded scan
    listed = [q["sql"] for q in ctx.captured_queries if 'FROM "customers_account"' in q["sql"]]
    assert listed and not any("DISTINCT" in sql for sql in listed)


@pytest.mark.parametrize("listed", [True, False])
def test_team_accounts_are_visible_by_id_list_and_by_subquery(org, monkeypatch, listed):
    # given the outsider (West) is on the team of East's account
    services.team_member_add(account=org.acct, user=org.outsider)
    if not listed:  # a user on more teams than the reach lists falls back to the correlated subquery
        monkeypatch.setattr(org_selectors, "TEAM_IDS_LISTED", 0)
    reach = org_selectors._reach(org.outsider, org_selectors.VIEW)
    assert (reach.team_account_ids is not None) is listed
    # then they see it (and their own West account), and the peer does not see West's
    seen = set(selectors.account_queryset(user=org.outsider).values_list("pk", flat=True))
    assert seen == {org.acct.pk, org.other.pk}
    assert org.other.pk not in set(selectors.account_queryset(user=org.peer).values_list("pk", flat=True))
    # and contacts follow their account either way
    contact = services.contact_create(account=org.acct, name="王经理")
    assert contact.pk in set(selectors.contact_queryset(user=org.outsider).values_list("pk", flat=True))


def test_an_expired_team_membership_is_not_listed(org):
    import datetime as dt

    member = services.team_member_add(account=org.acct, user=org.outsider)
    type(member).objects.filter(pk=member.pk).update(valid_to=dt.date(2000, 1, 1))
    assert org_selectors._reach(org.outsider, org_selectors.VIEW).team_account_ids == ()
    assert org.acct.pk not in set(selectors.account_queryset(user=org.outsider).values_list("pk", flat=True))

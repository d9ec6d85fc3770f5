"""The visibility rule, role by role and grant by grant, on the selector every surface uses."""
import datetime as dt

import pytest
from django.utils import timezone

from kamcrm.customers import services as customer_services
from kamcrm.customers.models import Account, Contact
from kamcrm.org import services as org_services
from kamcrm.org.selectors import EDIT, VIEW, visible

# persona -> (sees acct [East, owned by rep], sees other [West], may edit acct, may edit other)
ROLE_MATRIX = {
    "admin": (True, True, True, True),
    "exec": (True, True, True, False),  # edit scope "own", but the rep is below them in the manager chain
    "bizmgmt": (True, True, False, False),  # sits at HQ: the subtree is the company
    "dept_head": (True, False, True, False),  # heads Sales East, above the rep's team
    "manager": (True, False, True, False),  # the rep's manager, in the same team
    "rep": (True, False, True, False),  # owner
    "peer": (False, False, False, False),  # same team, account manager: own accounts only
    "outsider": (False, True, False, True),
    "marketing": (False, False, False, False),  # Marketing East subtree has no owners of these
    "service": (False, False, False, False),
    "partner": (False, False, False, False),
}


def ids(user, action=VIEW):
    return set(visible(Account.objects.all(), user, action).values_list("pk", flat=True))


@pytest.mark.parametrize("persona", ROLE_MATRIX)
def test_it_applies_each_roles_scope(org, persona):
    # given
    user = getattr(org, persona if persona != "exec" else "exec_")
    sees_acct, sees_other, edits_acct, edits_other = ROLE_MATRIX[persona]
    # when
    seen, editable = ids(user), ids(user, EDIT)
    # then
    assert (org.acct.pk in seen, org.other.pk in seen) == (sees_acct, sees_other)
    assert (org.acct.pk in editable, org.other.pk in editable) == (edits_acct, edits_other)


def test_it_follows_the_manager_chain_up_any_number_of_levels(org):
    # given: the rep's manager chain is manager -> dept_head -> exec; bizmgmt is outside it
    # then: edit (scope "own" for exec and bizmgmt) reaches the account only through the chain
    assert org.acct.pk in ids(org.exec_, EDIT)
    assert org.acct.pk not in ids(org.bizmgmt, EDIT)
    # when the chain is cut, the grant goes
    org_services.user_update(user=org.dept_head, data={"manager": None})
    assert org.acct.pk not in ids(org.exec_, EDIT)


def test_it_grants_through_the_account_team_within_its_dates(org):
    today = timezone.localdate()
    member = customer_services.team_member_add(account=org.other, user=org.peer, access="read",
                                               valid_from=today - dt.timedelta(days=1), valid_to=today + dt.timedelta(days=1))
    assert org.other.pk in ids(org.peer)
    assert org.other.pk not in ids(org.peer, EDIT)
    customer_services.team_member_update(member=member, data={"access": "edit"})
    assert org.other.pk in ids(org.peer, EDIT)
    customer_services.team_member_update(member=member, data={"valid_from": today - dt.timedelta(days=9),
                                                               "valid_to": today - dt.timedelta(days=2)})
    assert org.other.pk not in ids(org.peer)


def test_it_grants_through_a_sharing_rule_to_the_target_unit_and_below(org):
    assert org.other.pk not in ids(org.marketing)
    org_services.sharing_rule_create(name="西部客户共享给华东", source_unit=org.west, target_unit=org.east, access="read")
    assert org.other.pk in ids(org.marketing)  # Marketing East sits under East
    assert org.other.pk not in ids(org.marketing, EDIT)
    assert org.other.pk in ids(org.rep)


def test_a_sharing_rule_without_subtree_reaches_only_the_target_unit(org):
    org_services.sharing_rule_create(name="only east itself", source_unit=org.west, target_unit=org.east,
                                     include_target_subtree=False)
    assert org.other.pk not in ids(org.marketing)


def test_it_scopes_models_hanging_off_the_account(org):
    Contact.objects.create(account=org.acct, name="张伟")
    Contact.objects.create(account=org.other, name="李娜")
    names = set(visible(Contact.objects.all(), org.rep).values_list("name", flat=True))
    assert names == {"张伟"}


def test_changes_take_effect_on_the_next_call(org):
    assert org.acct.pk not in ids(org.peer)
    customer_services.account_update(account=org.acct, data={"owner": org.peer})
    assert org.acct.pk in ids(org.peer)
    assert org.acct.pk not in ids(org.rep)


def test_inactive_users_see_nothing(org):
    org_services.user_update(user=org.rep, data={"is_active": False})
    assert ids(org.rep) == set()


@pytest.mark.parametrize("few", [True, False], ids=["ids-listed", "too-many-to-list"])
def test_a_listing_sees_exactly_the_rows_the_join_sees(org, monkeypatch, few):
    # given: contacts and opportunities on accounts reached every way (owner, manager chain, unit, team,
    # sharing rule, collaborator), and on accounts reached by nobody but their owner
    from kamcrm.org import selectors
    from kamcrm.sales import services as sales_services
    from kamcrm.sales.models import Opportunity

    monkeypatch.setattr(selectors, "LISTING_VENDORS", {"postgresql", "sqlite"})  # both take this path here
    if not few:
        monkeypatch.setattr(selectors, "ACCOUNT_IDS_LISTED", 0)  # every listing falls back to the join
    today = timezone.localdate()
    teamed = customer_services.account_create(name="团队客户", region=org.west, owner=org.outsider)
    customer_services.team_member_add(account=teamed, user=org.peer, access="read", valid_from=today)
    expired = customer_services.account_create(name="过期团队客户", region=org.west, owner=org.outsider)
    customer_services.team_member_add(account=expired, user=org.peer, access="edit",
                                      valid_from=today - dt.timedelta(days=9), valid_to=today - dt.timedelta(days=1))
    org_services.sharing_rule_create(name="西部客户共享给华东市场部", source_unit=org.west, target_unit=org.mkt_east,
                                     access="read")
    for account in (org.acct, org.other, teamed, expired):
        Contact.objects.create(account=account, name=f"{account.name}联系人")
        sales_services.opportunity_create(account=account, name=f"{account.name}商机", owner=account.owner)
    helped = sales_services.opportunity_create(account=org.other, name="协作商机", owner=org.outsider,
                                               collaborators=[org.service])
    everyone = [org.admin, org.exec_, org.bizmgmt, org.dept_head, org.manager, org.rep, org.peer, org.outsider,
                org.marketing, org.service, org.partner]
    for user in everyone:
        for action in (VIEW, EDIT):
            for model in (Contact, Opportunity):
                # when
                listed = set(visible(model.objects.all(), user, action, listing=True).values_list("pk", flat=True))
                joined = set(visible(model.objects.all(), user, action).values_list("pk", flat=True))
                # then
                assert listed == joined, (user.username, action, model.__name__)
    # and the grants that only a listing names by id did take part
    assert helped.pk in set(visible(Opportunity.objects.all(), org.service, listing=True).values_list("pk", flat=True))
    assert Contact.objects.get(account=teamed).pk in set(
        visible(Contact.objects.all(), org.peer, listing=True).values_list("pk", flat=True))
    assert not visible(Contact.objects.filter(account=expired), org.peer, listing=True).exists()
    assert selectors.listed_account_ids(org.peer) == (None if not few else (teamed.pk,))


def test_one_request_reads_the_rules_and_managers_once_for_view_and_edit(org, django_assert_num_queries):
    # given: a read-only sharing rule, and a request in which the reach is asked for view, then edit
    from types import SimpleNamespace

    from kamcrm.core.context import change_context
    from kamcrm.org.selectors import reach

    org_services.sharing_rule_create(name="西部客户共享给华东（只读）", source_unit=org.west, target_unit=org.east,
                                     access="read")
    with change_context(channel="ui", request=SimpleNamespace(user=org.rep)):
        # when
        with django_assert_num_queries(4):  # units, rules, manager links, team: once each
            seen, editable = reach(org.rep, VIEW), reach(org.rep, EDIT)
    # then: the rule gives view, not edit, though both came from the one read
    assert org.west.path in seen.region_paths
    assert org.west.path not in editable.region_paths
    assert editable.owner_ids == seen.owner_ids == {org.rep.pk}

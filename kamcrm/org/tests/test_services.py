"""Organisation services and selectors added for the UI: sharing rules, passwords, tree reads."""
import pytest
from django.core.exceptions import ValidationError

from kamcrm.audit.models import ObjectChange
from kamcrm.org import selectors, services
from kamcrm.org.choices import Role, UnitKind
from kamcrm.org.models import SharingRule, User


def test_it_updates_a_sharing_rule_and_logs_the_change(org):
    # given
    rule = services.sharing_rule_create(name="共享", source_unit=org.east, target_unit=org.west)
    # when
    services.sharing_rule_update(rule=rule, data={"access": "edit", "target_unit": org.partners})
    # then
    rule.refresh_from_db()
    assert (rule.access, rule.target_unit) == ("edit", org.partners)
    change = ObjectChange.objects.filter(object_id=rule.pk, action="update").get()
    assert change.changes["access"] == ["read", "edit"]


def test_it_refuses_a_sharing_rule_from_a_unit_to_itself(org):
    with pytest.raises(ValidationError) as exc:
        services.sharing_rule_create(name="x", source_unit=org.east, target_unit=org.east)
    assert "target_unit" in exc.value.message_dict
    rule = services.sharing_rule_create(name="y", source_unit=org.east, target_unit=org.west)
    with pytest.raises(ValidationError) as exc:
        services.sharing_rule_update(rule=rule, data={"target_unit": org.east})
    assert "target_unit" in exc.value.message_dict
    rule.refresh_from_db()
    assert rule.target_unit == org.west


def test_it_deletes_a_sharing_rule_and_the_grant_goes_at_once(org):
    # given: Team W1 (outsider) sees East's accounts through a rule
    from kamcrm.customers.models import Account

    rule = services.sharing_rule_create(name="x", source_unit=org.east, target_unit=org.team_w1)
    assert selectors.visible(Account.objects.filter(pk=org.acct.pk), org.outsider).exists()
    # when
    services.sharing_rule_delete(rule=rule)
    # then
    assert not SharingRule.objects.exists()
    assert not selectors.visible(Account.objects.filter(pk=org.acct.pk), org.outsider).exists()


def test_it_sets_a_password_only_when_the_validators_accept_it(org):
    with pytest.raises(ValidationError) as exc:
        services.user_set_password(user=org.rep, password="1234")
    assert "password" in exc.value.message_dict
    services.user_set_password(user=org.rep, password="Quite-long-pass-31")
    assert User.objects.get(pk=org.rep.pk).check_password("Quite-long-pass-31")


def test_it_checks_a_manager_chain_for_forms(org):
    with pytest.raises(ValidationError):
        services.user_check_manager(user=org.exec_, manager=org.rep)
    services.user_check_manager(user=org.rep, manager=org.exec_)  # no loop: fine


def test_it_reads_the_tree_with_member_counts_in_one_query(org, django_assert_num_queries):
    with django_assert_num_queries(1):
        units = list(selectors.unit_tree())
        heads = [u.head for u in units]
    assert [u.path for u in units] == sorted(u.path for u in units)
    assert {u.code: u.member_count for u in units}["EAST-T1"] == 3
    assert org.dept_head in heads


def test_it_reads_ancestors_root_first_in_one_query(org, django_assert_num_queries):
    with django_assert_num_queries(1):
        ancestors = selectors.unit_ancestors(unit=org.team_e1)
    assert ancestors == [org.hq, org.east, org.sales_east]
    assert selectors.unit_ancestors(unit=org.hq) == []


def test_it_knows_who_administers_the_organisation(org):
    plain_admin = services.user_create(username="it", role=Role.ADMINISTRATOR, unit=org.hq)
    assert selectors.is_administrator(org.admin) and selectors.is_administrator(plain_admin)
    assert not any(selectors.is_administrator(u) for u in (org.exec_, org.rep, org.dept_head, org.bizmgmt))
    services.user_update(user=plain_admin, data={"is_active": False})
    assert not selectors.is_administrator(plain_admin)


def test_it_filters_people_by_the_units_subtree(org):
    people = selectors.user_queryset(filters={"unit": org.west})
    assert set(people.values_list("username", flat=True)) == {"outsider", "service"}


def test_it_refuses_an_unknown_people_sort(org):
    with pytest.raises(ValidationError):
        selectors.user_list(sort="password")


def test_it_keeps_depths_when_a_unit_moves(org):
    # given
    deep = services.org_unit_create(name="深层", code="DEEP", kind=UnitKind.TEAM, parent=org.team_e1)
    # when
    services.org_unit_update(unit=org.sales_east, data={"parent": org.hq})
    # then
    deep.refresh_from_db()
    assert deep.depth == 3 and deep.path.startswith(org.hq.path)

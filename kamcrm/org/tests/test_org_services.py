"""Organisation services: the materialised path stays true through moves; no loops in units or managers."""
import pytest
from django.core.exceptions import ValidationError

from kamcrm.audit.models import ObjectChange
from kamcrm.org import services
from kamcrm.org.choices import Role, UnitKind
from kamcrm.org.models import OrgUnit, User
from kamcrm.org.selectors import visible


def db_state():
    return {
        "units": sorted(OrgUnit.objects.values_list("pk", "name", "parent_id", "path", "depth", "head_id")),
        "users": sorted(User.objects.values_list("pk", "username", "unit_id", "manager_id", "role")),
        "audit": ObjectChange.objects.count(),
    }


def refused(call) -> dict:
    before = db_state()
    with pytest.raises(ValidationError) as excinfo:
        call()
    assert db_state() == before, "a refused call wrote to the database"
    return excinfo.value.message_dict


def assert_tree_is_consistent():
    """Every unit's path is its parent's path plus its own id, and its depth matches."""
    units = {u.pk: u for u in OrgUnit.objects.all()}
    for unit in units.values():
        parent_path = units[unit.parent_id].path if unit.parent_id else ""
        assert unit.path == f"{parent_path}{unit.pk:06d}.", unit.name
        assert unit.depth == unit.path.count(".") - 1, unit.name


def fresh(unit):
    return OrgUnit.objects.get(pk=unit.pk)


def test_it_gives_new_units_a_path_and_depth(org):
    assert fresh(org.hq).path == f"{org.hq.pk:06d}."
    assert [fresh(u).depth for u in (org.hq, org.east, org.sales_east, org.team_e1)] == [0, 1, 2, 3]
    assert fresh(org.team_e1).path.startswith(fresh(org.sales_east).path)
    assert_tree_is_consistent()


def test_moving_a_unit_re_roots_its_whole_subtree(org):
    # given a fourth level below Team E1
    pod = services.org_unit_create(name="华东一组A", code="EAST-T1-A", kind=UnitKind.TEAM, parent=org.team_e1)
    # when Sales East (with Team E1 and the pod) moves from East to West
    services.org_unit_update(unit=org.sales_east, data={"parent": org.west})
    # then every descendant hangs under West, at the depth it had (East and West are peers)
    west = fresh(org.west).path
    for unit, depth in ((org.sales_east, 2), (org.team_e1, 3), (pod, 4)):
        row = fresh(unit)
        assert row.path.startswith(west), row.name
        assert row.depth == depth
    assert_tree_is_consistent()
    # and units outside the subtree are untouched
    assert fresh(org.mkt_east).path.startswith(fresh(org.east).path)


def test_moving_a_subtree_up_and_down_changes_depths(org):
    pod = services.org_unit_create(name="华东一组A", code="EAST-T1-A", kind=UnitKind.TEAM, parent=org.team_e1)
    # up: Sales East straight under HQ
    services.org_unit_update(unit=org.sales_east, data={"parent": org.hq})
    assert [fresh(u).depth for u in (org.sales_east, org.team_e1, pod)] == [1, 2, 3]
    assert_tree_is_consistent()
    # down: under Marketing East, two levels deeper
    services.org_unit_update(unit=fresh(org.sales_east), data={"parent": org.mkt_east})
    assert [fresh(u).depth for u in (org.sales_east, org.team_e1, pod)] == [3, 4, 5]
    assert_tree_is_consistent()
    # to the top: a root of its own
    services.org_unit_update(unit=fresh(org.sales_east), data={"parent": None})
    assert [fresh(u).depth for u in (org.sales_east, org.team_e1, pod)] == [0, 1, 2]
    assert_tree_is_consistent()


def test_it_keeps_the_tree_true_when_moving_with_stale_copies(org):
    # given Sales East moved away, while org.team_e1 and org.west still hold their old paths
    services.org_unit_update(unit=org.sales_east, data={"parent": org.west})
    # when the stale Team E1 moves, and then a stale parent is used
    services.org_unit_update(unit=org.team_e1, data={"parent": org.east})
    services.org_unit_update(unit=org.mkt_east, data={"parent": org.sales_east})
    # then
    assert_tree_is_consistent()
    assert fresh(org.team_e1).parent == org.east
    assert fresh(org.mkt_east).path.startswith(fresh(org.west).path)


def test_a_move_changes_what_the_unit_above_sees(org):
    # given the department head sees the rep's account through Sales East
    from kamcrm.customers.models import Account

    assert org.acct in visible(Account.objects.all(), org.dept_head)
    # when Team E1 moves to West's sales department, its accounts' owning unit moves with it
    services.org_unit_update(unit=org.team_e1, data={"parent": org.sales_west})
    # then the head of Sales East no longer reaches it by unit, but still by the manager chain
    assert org.acct in visible(Account.objects.all(), org.dept_head)
    services.user_update(user=org.manager, data={"manager": None})
    assert org.acct not in visible(Account.objects.all(), org.dept_head)


def test_it_refuses_moving_a_unit_under_itself(org):
    assert list(refused(lambda: services.org_unit_update(unit=org.sales_east, data={"parent": org.sales_east}))) == [
        "parent"]


def test_it_refuses_moving_a_unit_under_its_own_descendant(org):
    pod = services.org_unit_create(name="华东一组A", code="EAST-T1-A", kind=UnitKind.TEAM, parent=org.team_e1)
    assert list(refused(lambda: services.org_unit_update(unit=org.east, data={"parent": org.team_e1}))) == ["parent"]
    assert list(refused(lambda: services.org_unit_update(unit=org.hq, data={"parent": pod}))) == ["parent"]


def test_it_refuses_a_loop_even_through_a_stale_parent(org):
    # given Team E1 moved under West by another copy; org.team_e1 still says it is under Sales East
    services.org_unit_update(unit=OrgUnit.objects.get(pk=org.team_e1.pk), data={"parent": org.west})
    # when West is put under (the stale) Team E1, then it is refused: Team E1 is below West
    assert list(refused(lambda: services.org_unit_update(unit=org.west, data={"parent": org.team_e1}))) == ["parent"]
    assert_tree_is_consistent()


def test_it_refuses_bad_unit_input_by_field(org):
    errors = refused(lambda: services.org_unit_update(unit=org.team_e1, data={"kind": "galaxy", "code": "EAST"}))
    assert set(errors) == {"kind", "code"}
    errors = refused(lambda: services.org_unit_create(name="", code="HQ", kind=UnitKind.TEAM, parent=org.hq))
    assert set(errors) == {"name", "code"}


def test_a_rename_keeps_the_path(org):
    path = fresh(org.team_e1).path
    services.org_unit_update(unit=org.team_e1, data={"name": "华东政企一组"})
    assert fresh(org.team_e1).path == path
    assert fresh(org.team_e1).name == "华东政企一组"


# --- people -------------------------------------------------------------------------------------

def test_it_creates_a_person_with_a_usable_or_unusable_password(org):
    with_password = services.user_create(username="li", password="Li-secret-2026", unit=org.team_e1,
                                         manager=org.manager, role=Role.ACCOUNT_MANAGER)
    without = services.user_create(username="wang", unit=org.team_e1)
    assert User.objects.get(pk=with_password.pk).check_password("Li-secret-2026")
    assert not User.objects.get(pk=without.pk).has_usable_password()


def test_it_refuses_bad_person_input_by_field(org):
    errors = refused(lambda: services.user_create(username="rep", role="pope", unit=org.team_e1))
    assert set(errors) == {"username", "role"}


def test_it_refuses_someone_as_their_own_manager(org):
    assert list(refused(lambda: services.user_update(user=org.rep, data={"manager": org.rep}))) == ["manager"]


@pytest.mark.parametrize("top, bottom", [("manager", "rep"), ("dept_head", "rep"), ("exec_", "rep"),
                                         ("exec_", "manager")])
def test_it_refuses_a_manager_loop_at_any_depth(org, top, bottom):
    # the chain is rep -> manager -> dept_head -> exec; nobody above may report to someone below
    top_user, bottom_user = getattr(org, top), getattr(org, bottom)
    assert list(refused(lambda: services.user_update(user=top_user, data={"manager": bottom_user}))) == ["manager"]


def test_it_refuses_a_manager_loop_through_stale_copies(org):
    # given dept_head now reports to the outsider, changed through another copy; the cached chain
    # org.rep -> manager -> dept_head -> exec still shows the old one
    services.user_update(user=User.objects.get(pk=org.dept_head.pk), data={"manager": org.outsider})
    assert org.rep.manager.manager.manager == org.exec_
    # when the outsider is made to report to the rep (rep -> manager -> dept_head -> outsider in the database)
    assert list(refused(lambda: services.user_update(user=org.outsider, data={"manager": org.rep}))) == ["manager"]


def test_a_manager_elsewhere_is_fine(org):
    services.user_update(user=org.outsider, data={"manager": org.manager})
    assert User.objects.get(pk=org.outsider.pk).manager == org.manager

"""Customer services: every refused write names the field and leaves the database as it was."""
import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import Http404
from django.utils import timezone

from kamcrm.audit.models import ObjectChange, TimelineEvent
from kamcrm.core.models import AttributeDefinition
from kamcrm.customers import services
from kamcrm.customers.models import Account, AccountTeamMember, Contact, Interaction
from kamcrm.org import services as org_services
from kamcrm.org.choices import Role

TABLES = (Account, Contact, AccountTeamMember, Interaction, ObjectChange, TimelineEvent)


def db_state():
    """Every row of the tables a customer service writes, as plain values."""
    return {model.__name__: sorted(map(repr, model.objects.values_list())) for model in TABLES}


def refused(call) -> dict:
    """Run a call that must be refused; return its errors by field, and check it wrote nothing."""
    before = db_state()
    with pytest.raises(ValidationError) as excinfo:
        call()
    assert db_state() == before, "a refused call wrote to the database"
    assert not connection.needs_rollback
    return excinfo.value.message_dict


def fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


def new_account(org, **data):
    return services.account_create(**{"name": "苏州工业园区科技有限公司", "region": org.east, "owner": org.rep, **data})


# --- accounts -----------------------------------------------------------------------------------

def test_it_creates_an_account_with_normalised_input(org):
    account = new_account(org, credit_code=" 91110000802100433b ", tags="制造，重点, 制造,", short_name=" 苏州科技 ")
    row = fresh(account)
    assert row.credit_code == "91110000802100433B"
    assert row.tags == ["制造", "重点"]
    assert row.short_name == "苏州科技"
    assert row.owner_unit == org.team_e1


@pytest.mark.parametrize("code", ["91110000802100433C", "9111000080210043", "91110000802100433Z", "9111A000802100433B"])
def test_it_refuses_a_bad_credit_code_by_field(org, code):
    errors = refused(lambda: new_account(org, credit_code=code))
    assert list(errors) == ["credit_code"]


def test_it_refuses_a_duplicate_credit_code_on_create_by_field(org):
    # given acct has 91310000MA1FL0XQ04; when another account claims it (in lower case)
    errors = refused(lambda: new_account(org, credit_code="91310000ma1fl0xq04"))
    # then a clear field error, not a database IntegrityError
    assert list(errors) == ["credit_code"]
    assert "already" in errors["credit_code"][0]
    assert "上海浦江制造有限公司" not in errors["credit_code"][0]  # the holder may be an account they cannot see


def test_it_refuses_a_duplicate_credit_code_on_update_by_field(org):
    errors = refused(lambda: services.account_update(account=org.other, data={"credit_code": "91310000MA1FL0XQ04"}))
    assert list(errors) == ["credit_code"]
    assert fresh(org.other).credit_code == ""


def test_many_accounts_may_have_no_credit_code(org):
    new_account(org, name="甲")
    new_account(org, name="乙", credit_code="")
    assert Account.objects.filter(credit_code="").count() == 3  # with org.other


def test_an_account_keeps_its_own_credit_code_on_update(org):
    services.account_update(account=org.acct, data={"credit_code": "91310000MA1FL0XQ04", "phone": "1"})
    assert fresh(org.acct).phone == "1"


def test_it_refuses_a_duplicate_external_id_by_field(org):
    new_account(org, name="甲", source_system="crm-old", external_id="A-1")
    errors = refused(lambda: new_account(org, name="乙", source_system="crm-old", external_id="A-1"))
    assert list(errors) == ["external_id"]


def test_it_names_missing_required_fields(org):
    errors = refused(lambda: services.account_create(name="", region=org.east, owner=org.rep))
    assert list(errors) == ["name"]
    errors = refused(lambda: services.account_create(name="无主客户", region=org.east))
    assert "owner" in errors
    errors = refused(lambda: services.account_create(name="无区域客户", owner=org.rep))
    assert "region" in errors


def test_it_names_bad_choices(org):
    errors = refused(lambda: new_account(org, tier="platinum", industry="space", status="lost"))
    assert set(errors) == {"tier", "industry", "status"}
    errors = refused(lambda: services.account_update(account=org.acct, data={"tier": "platinum"}))
    assert list(errors) == ["tier"]
    assert fresh(org.acct).tier == "key"


def test_it_refuses_an_owner_without_a_unit(org):
    # given a person with no primary unit
    floater = org_services.user_create(username="floater", password="Floater-2026", role=Role.ACCOUNT_MANAGER)
    # then neither create nor update may make them owner
    assert list(refused(lambda: new_account(org, owner=floater))) == ["owner"]
    assert list(refused(lambda: services.account_update(account=org.acct, data={"owner": floater}))) == ["owner"]
    assert fresh(org.acct).owner == org.rep


def test_changing_the_owner_moves_the_owning_unit(org):
    services.account_update(account=org.acct, data={"owner": org.outsider})
    row = fresh(org.acct)
    assert (row.owner, row.owner_unit) == (org.outsider, org.team_w1)


def test_the_owning_unit_stays_when_the_owner_stays(org):
    # the owner's unit is the one at the time ownership was set (docs/decisions/0001)
    org_services.user_update(user=org.rep, data={"unit": org.mkt_east})
    services.account_update(account=org.acct, data={"owner": org.rep, "phone": "1"})
    assert fresh(org.acct).owner_unit == org.team_e1


def test_it_refuses_an_account_as_its_own_parent(org):
    errors = refused(lambda: services.account_update(account=org.acct, data={"parent": org.acct}))
    assert list(errors) == ["parent"]


def test_it_refuses_a_parent_cycle_at_any_depth(org):
    # given group 集团 > 子公司 > 孙公司
    group = new_account(org, name="集团")
    child = new_account(org, name="子公司", parent=group)
    grandchild = new_account(org, name="孙公司", parent=child)
    # then the group may not go under its child or grandchild
    assert list(refused(lambda: services.account_update(account=group, data={"parent": grandchild}))) == ["parent"]
    assert list(refused(lambda: services.account_update(account=group, data={"parent": child}))) == ["parent"]
    assert fresh(group).parent is None


def test_it_judges_a_parent_cycle_by_the_database_not_by_stale_copies(org):
    # given 集团 > 子公司 > 孙公司, where the copy `child` (cached as grandchild.parent) believes it is a root
    group = new_account(org, name="集团")
    child = new_account(org, name="子公司", parent=group)
    grandchild = new_account(org, name="孙公司", parent=child)
    services.account_update(account=child, data={"parent": None})
    services.account_update(account=Account.objects.get(pk=child.pk), data={"parent": group})
    assert child.parent is None and fresh(child).parent == group
    # when the group is put under the grandchild, then it is still refused
    assert list(refused(lambda: services.account_update(account=group, data={"parent": grandchild}))) == ["parent"]


def test_a_parent_elsewhere_in_the_tree_is_fine(org):
    group = new_account(org, name="集团")
    child = new_account(org, name="子公司", parent=group)
    services.account_update(account=org.acct, data={"parent": child})
    assert fresh(org.acct).parent == child


def test_account_update_for_refuses_who_may_not_edit(org):
    before = db_state()
    with pytest.raises(Http404):
        services.account_update_for(user=org.peer, account_id=org.acct.pk, data={"tier": "normal"})
    assert db_state() == before
    services.account_update_for(user=org.manager, account_id=org.acct.pk, data={"tier": "normal"})
    assert fresh(org.acct).tier == "normal"


def test_account_upsert_creates_then_updates_and_is_idempotent(org):
    data = {"name": "宁波港口物流有限公司", "region": org.east, "owner": org.rep, "tags": ["港口"],
            "credit_code": "914403001922038216"}
    # when the same record arrives three times
    first, created1 = services.account_upsert(source_system="erp", external_id="C-001", data=data)
    updated_at = fresh(first).updated_at
    second, created2 = services.account_upsert(source_system="erp", external_id="C-001", data=dict(data))
    third, created3 = services.account_upsert(source_system="erp", external_id="C-001", data=dict(data))
    # then one account, one audit row, untouched since its creation
    assert (created1, created2, created3) == (True, False, False)
    assert first.pk == second.pk == third.pk
    assert Account.objects.filter(source_system="erp", external_id="C-001").count() == 1
    assert [e.action for e in ObjectChange.objects.filter(object_id=first.pk, content_type__model="account")] == [
        "create"]
    assert fresh(first).updated_at == updated_at
    # and a changed record updates it
    services.account_upsert(source_system="erp", external_id="C-001", data={**data, "tier": "strategic"})
    assert fresh(first).tier == "strategic"


def test_upserts_accept_data_that_repeats_the_external_id(org):
    # an API payload or an import row carries its own (source system, external id)
    data = {"name": "温州瓯江电子有限公司", "region": org.east, "owner": org.rep, "source_system": "erp",
            "external_id": "C-002"}
    account, created = services.account_upsert(source_system="erp", external_id="C-002", data=dict(data))
    again, created_again = services.account_upsert(source_system="erp", external_id="C-002", data=dict(data))
    assert (created, created_again, again.pk) == (True, False, account.pk)
    contact_data = {"account": account, "name": "陈静", "source_system": "erp", "external_id": "P-002"}
    contact, created = services.contact_upsert(source_system="erp", external_id="P-002", data=dict(contact_data))
    assert created and (contact.source_system, contact.external_id) == ("erp", "P-002")


def test_account_upsert_refuses_bad_data_by_field(org):
    errors = refused(lambda: services.account_upsert(source_system="erp", external_id="C-9",
                                                     data={"name": "x", "region": org.east, "owner": org.rep,
                                                           "credit_code": "123"}))
    assert list(errors) == ["credit_code"]


# --- custom attributes through the services -----------------------------------------------------

@pytest.fixture
def attrs(org):
    make = AttributeDefinition.objects.create
    make(entity="account", key="ownership", label_zh="性质", label_en="Ownership", type="choice",
         choices=["国企", "民企"], required=True)
    make(entity="account", key="employees", label_zh="员工数", label_en="Employees", type="number")
    make(entity="contact", key="hobby", label_zh="爱好", label_en="Hobby", type="text", max_length=10)


def test_account_attributes_are_validated_on_create(attrs, org):
    errors = refused(lambda: new_account(org, attributes={"employees": "many"}))
    assert set(errors) == {"attributes.employees", "attributes.ownership"}
    account = new_account(org, attributes={"ownership": "国企", "employees": "1,000"})
    assert fresh(account).attributes == {"ownership": "国企", "employees": 1000}


def test_an_attribute_update_sends_only_what_changes(attrs, org):
    # given
    account = new_account(org, attributes={"ownership": "国企", "employees": 10})
    # when only one attribute is sent
    services.account_update(account=account, data={"attributes": {"employees": 20}})
    # then the others are kept
    assert fresh(account).attributes == {"ownership": "国企", "employees": 20}
    # and an attribute sent empty is cleared
    services.account_update(account=account, data={"attributes": {"employees": None}})
    assert fresh(account).attributes == {"ownership": "国企"}
    # and a required one cannot be cleared
    errors = refused(lambda: services.account_update(account=account, data={"attributes": {"ownership": ""}}))
    assert list(errors) == ["attributes.ownership"]


def test_contact_attributes_are_validated(attrs, org):
    errors = refused(lambda: services.contact_create(account=org.acct, name="张伟", attributes={"hobby": "x" * 11}))
    assert list(errors) == ["attributes.hobby"]
    contact = services.contact_create(account=org.acct, name="张伟", attributes={"hobby": "钓鱼"})
    errors = refused(lambda: services.contact_update(contact=contact, data={"attributes": {"colour": "红"}}))
    assert list(errors) == ["attributes.colour"]


# --- contacts -----------------------------------------------------------------------------------

def test_it_creates_and_updates_a_contact(org):
    contact = services.contact_create(account=org.acct, name="张伟", title="信息中心主任", mobile="13800138000",
                                      email="zhangwei@pujiang.example.cn", decision_role="decision_maker",
                                      relationship_strength=4, birthday=dt.date(1975, 6, 1),
                                      preferred_channel="wechat")
    services.contact_update(contact=contact, data={"title": "副总经理", "relationship_strength": 5})
    row = fresh(contact)
    assert (row.title, row.relationship_strength, row.account) == ("副总经理", 5, org.acct)


def test_it_refuses_bad_contact_input_by_field(org):
    errors = refused(lambda: services.contact_create(account=org.acct, name="", email="not-an-email",
                                                     decision_role="boss", preferred_channel="fax"))
    assert set(errors) == {"name", "email", "decision_role", "preferred_channel"}


@pytest.mark.parametrize("strength", [0, 6, 99])
def test_it_refuses_a_relationship_strength_outside_one_to_five_by_field(org, strength):
    errors = refused(lambda: services.contact_create(account=org.acct, name="张伟", relationship_strength=strength))
    assert list(errors) == ["relationship_strength"]
    contact = services.contact_create(account=org.acct, name=f"李娜{strength}")
    errors = refused(lambda: services.contact_update(contact=contact, data={"relationship_strength": strength}))
    assert list(errors) == ["relationship_strength"]


def test_a_contact_needs_an_account(org):
    assert "account" in refused(lambda: services.contact_create(name="张伟"))


def test_contact_upsert_is_idempotent(org):
    data = {"account": org.acct, "name": "张伟", "mobile": "13800138000", "birthday": "1975-06-01"}
    first, created1 = services.contact_upsert(source_system="erp", external_id="P-1", data=dict(data))
    second, created2 = services.contact_upsert(source_system="erp", external_id="P-1", data=dict(data))
    assert (created1, created2, first.pk) == (True, False, second.pk)
    assert ObjectChange.objects.filter(object_id=first.pk, content_type__model="contact").count() == 1


# --- account teams ------------------------------------------------------------------------------

def test_it_adds_a_team_member_once(org):
    services.team_member_add(account=org.acct, user=org.peer, team_role="solution", access="edit",
                             reason="方案支撑")
    errors = refused(lambda: services.team_member_add(account=org.acct, user=org.peer, access="read"))
    assert list(errors) == ["user"]
    assert AccountTeamMember.objects.get(account=org.acct, user=org.peer).access == "edit"


def test_it_refuses_a_validity_that_ends_before_it_starts_by_field(org):
    today = timezone.localdate()
    errors = refused(lambda: services.team_member_add(account=org.acct, user=org.peer, valid_from=today,
                                                      valid_to=today - dt.timedelta(days=1)))
    assert list(errors) == ["valid_to"]
    member = services.team_member_add(account=org.acct, user=org.peer, valid_from=today)
    errors = refused(lambda: services.team_member_update(member=member,
                                                         data={"valid_to": today - dt.timedelta(days=1)}))
    assert list(errors) == ["valid_to"]


def test_it_refuses_bad_team_input_by_field(org):
    errors = refused(lambda: services.team_member_add(account=org.acct, user=org.peer, team_role="boss",
                                                      access="admin"))
    assert set(errors) == {"team_role", "access"}


# --- interactions -------------------------------------------------------------------------------

def test_it_logs_an_interaction_on_the_timeline(org):
    # given
    contact = services.contact_create(account=org.acct, name="张伟")
    when = dt.datetime(2025, 3, 1, 10, 0, tzinfo=dt.UTC)
    # when
    interaction = services.interaction_log(account=org.acct, kind="visit", subject="拜访信息中心", body="谈专线扩容",
                                           occurred_at=when, contact=contact, by=org.rep)
    # then
    row = fresh(interaction)
    assert (row.account, row.contact, row.author, row.occurred_at) == (org.acct, contact, org.rep, when)
    event = TimelineEvent.objects.get(account=org.acct, kind="visit")
    assert (event.summary, event.body, event.actor, event.occurred_at) == ("拜访信息中心", "谈专线扩容", org.rep, when)
    assert (event.content_type.model, event.object_id) == ("interaction", interaction.pk)
    assert event.data == {"contact": "张伟"}


def test_an_interaction_without_a_time_happens_now(org):
    before = timezone.now()
    interaction = services.interaction_log(account=org.acct, kind="note", subject="记录", by=org.rep)
    assert before <= interaction.occurred_at <= timezone.now()


def test_it_refuses_a_contact_of_another_account(org):
    stranger = services.contact_create(account=org.other, name="李娜")
    errors = refused(lambda: services.interaction_log(account=org.acct, kind="call", subject="电话",
                                                      contact=stranger, by=org.rep))
    assert list(errors) == ["contact"]


def test_it_refuses_a_bad_interaction_by_field(org):
    errors = refused(lambda: services.interaction_log(account=org.acct, kind="telepathy", subject="", by=org.rep))
    assert set(errors) == {"kind", "subject"}

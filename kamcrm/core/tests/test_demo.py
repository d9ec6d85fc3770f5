"""`kamcrm demo`: a small build (120 accounts) checked for the invariants the services keep."""
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone

from kamcrm.audit.models import ObjectChange, TimelineEvent
from kamcrm.core.attributes import clean_attributes
from kamcrm.core.models import AttributeDefinition
from kamcrm.core.validators import validate_credit_code
from kamcrm.customers.demo import plan_customers
from kamcrm.customers.models import Account, AccountTeamMember, Contact, Interaction
from kamcrm.org.choices import Role
from kamcrm.org.demo import DEMO_LOGINS, DEMO_PASSWORD, SOURCE, today_local, user_rows
from kamcrm.org.models import OrgUnit, SharingRule, User
from kamcrm.org.selectors import visible

ACCOUNTS = 120
MODELS = [OrgUnit, User, SharingRule, AttributeDefinition, Account, Contact, AccountTeamMember, Interaction]


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """Build once for the module inside a transaction that is rolled back afterwards."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            out = StringIO()
            call_command("demo", accounts=ACCOUNTS, stdout=out)
            yield out.getvalue()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def counts() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in [*MODELS, ObjectChange, TimelineEvent]}


def test_it_builds_the_number_of_accounts_asked_for(demo, db):
    assert Account.objects.filter(source_system=SOURCE).count() == ACCOUNTS
    assert Contact.objects.count() >= 2 * ACCOUNTS
    assert AccountTeamMember.objects.exists()
    assert Interaction.objects.count() >= ACCOUNTS


def test_it_has_a_user_in_every_role(demo, db):
    roles = set(User.objects.values_list("role", flat=True))
    assert roles == set(Role.values)


def test_it_sets_managers_and_unit_heads(demo, db):
    assert list(User.objects.filter(manager__isnull=True).values_list("username", flat=True)) == ["exec"]
    assert not OrgUnit.objects.filter(head__isnull=True).exists()
    rep = User.objects.get(username="rep_nj1")
    assert (rep.manager.username, rep.manager.manager.username, rep.manager.manager.manager.username) == (
        "manager_nj1", "head_nj", "exec2")


def test_it_keeps_unit_paths_as_org_unit_create_computes_them(demo, db):
    for unit in OrgUnit.objects.select_related("parent"):
        expected = f"{unit.parent.path if unit.parent else ''}{unit.pk:06d}."
        assert (unit.path, unit.depth) == (expected, expected.count(".") - 1)


def test_it_writes_valid_and_unique_credit_codes(demo, db):
    codes = list(Account.objects.exclude(credit_code="").values_list("credit_code", flat=True))
    assert len(codes) == ACCOUNTS
    assert len(set(codes)) == len(codes)
    for code in codes:
        validate_credit_code(code)


def test_it_builds_group_hierarchies_without_cycles(demo, db):
    parents = dict(Account.objects.values_list("pk", "parent_id"))
    roots = {p for p in parents.values() if p}
    assert len(roots) >= 2
    deepest = 0
    for pk in parents:
        seen, current, depth = set(), pk, 0
        while parents[current]:
            assert current not in seen, f"account {pk} is its own ancestor"
            seen.add(current)
            current, depth = parents[current], depth + 1
        deepest = max(deepest, depth)
    assert deepest >= 1


def test_it_sets_owner_unit_to_the_owners_unit(demo, db):
    assert not Account.objects.exclude(owner_unit=F("owner__unit")).exists()
    # and the owner works in the account's region
    for account in Account.objects.select_related("owner_unit", "region"):
        assert account.owner_unit.path.startswith(account.region.path)


def test_it_stores_attribute_values_as_the_attribute_engine_would(demo, db):
    with_values = Account.objects.exclude(attributes={})
    assert with_values.count() > ACCOUNTS / 2
    for account in with_values:
        assert clean_attributes("account", account.attributes) == account.attributes
    for contact in Contact.objects.exclude(attributes={}):
        assert clean_attributes("contact", contact.attributes) == contact.attributes


def test_it_puts_every_interaction_on_the_timeline(demo, db):
    ct = ContentType.objects.get_for_model(Interaction)
    events = {e.object_id: e for e in TimelineEvent.objects.filter(content_type=ct)}
    interactions = list(Interaction.objects.all())
    assert len(events) == len(interactions)
    for i in interactions:
        e = events[i.pk]
        assert (e.account_id, e.kind, e.summary, e.occurred_at, e.actor_id) == (
            i.account_id, i.kind, i.subject, i.occurred_at, i.author_id)
    assert TimelineEvent.objects.aggregate(last=Max("occurred_at"))["last"] < timezone.now()


def test_it_audits_every_created_record_as_a_job(demo, db):
    for model in MODELS:
        ct = ContentType.objects.get_for_model(model)
        entries = ObjectChange.objects.filter(content_type=ct, action="create")
        assert entries.count() == model.objects.count(), model.__name__
        assert set(entries.values_list("channel", "job_id")) == {("job", "demo")}
    account = Account.objects.first()
    entry = ObjectChange.objects.get(content_type=ContentType.objects.get_for_model(Account), object_id=account.pk)
    assert entry.changes["name"] == [None, account.name]
    assert entry.account_id == account.pk


def test_it_creates_nothing_and_changes_nothing_on_a_second_run(demo, db):
    # given
    before = counts()
    last_update = Account.objects.aggregate(m=Max("updated_at"))["m"]
    # when
    out = StringIO()
    call_command("demo", accounts=ACCOUNTS, stdout=out)
    # then
    assert counts() == before
    assert Account.objects.aggregate(m=Max("updated_at"))["m"] == last_update
    assert "nothing new" in out.getvalue()


def test_it_skips_building_with_if_empty_but_still_prints_the_logins(demo, db):
    before = counts()
    out = StringIO()
    call_command("demo", accounts=ACCOUNTS, if_empty=True, stdout=out)
    assert counts() == before
    text = out.getvalue()
    assert "Open http://127.0.0.1:8000" in text
    for username in DEMO_LOGINS:
        assert username in text


def test_it_prints_the_logins_and_they_authenticate_with_the_printed_password(demo, db):
    assert DEMO_PASSWORD in demo
    assert demo.rstrip().endswith("Open http://127.0.0.1:8000")
    for username in DEMO_LOGINS:
        assert username in demo
        assert authenticate(username=username, password=DEMO_PASSWORD) is not None, username
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff and admin.role == Role.ADMINISTRATOR


def test_it_gives_each_level_a_wider_view(demo, db):
    def seen(username):
        return visible(Account.objects.all(), User.objects.get(username=username)).count()

    assert 0 < seen("rep_nj1") < seen("manager_nj1") < seen("exec") == ACCOUNTS


def test_it_plans_the_same_data_from_the_same_seed():
    today = today_local()
    first, second = (plan_customers(accounts=ACCOUNTS, seed=7, today=today) for _ in range(2))
    assert first == second
    assert user_rows(7) == user_rows(7)
    other = plan_customers(accounts=ACCOUNTS, seed=8, today=today)
    assert [a.name for a in other.accounts] != [a.name for a in first.accounts]

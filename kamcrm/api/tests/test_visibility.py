"""The visibility matrix through the API: list, detail and search of accounts, contacts and team
rows for every persona of ROLE_MATRIX, plus account-team and sharing-rule grants; refused writes
answer 404 (cannot see) or 403 (may see, may not edit) and change no row."""
import datetime as dt

import pytest
from django.utils import timezone

from kamcrm.audit.models import ObjectChange
from kamcrm.customers import services as customer_services
from kamcrm.customers.models import Account
from kamcrm.org import services as org_services
from kamcrm.org.choices import Role
from kamcrm.org.tests.test_visibility import ROLE_MATRIX


def persona(org, name):
    return getattr(org, "exec_" if name == "exec" else name)


@pytest.fixture
def world(org):
    """A contact and a team row on each account; the team member is nobody from the matrix."""
    helper = org_services.user_create(username="helper", role=Role.SERVICE, unit=org.partners, display_name="helper")
    c_acct = customer_services.contact_create(account=org.acct, name="张伟", mobile="13800000001")
    c_other = customer_services.contact_create(account=org.other, name="李娜", mobile="13900000002")
    t_acct = customer_services.team_member_add(account=org.acct, user=helper, access="read")
    t_other = customer_services.team_member_add(account=org.other, user=helper, access="read")
    return org, c_acct, c_other, t_acct, t_other


def result_ids(response):
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def expected(pairs):
    return {pk for pk, seen in pairs if seen}


@pytest.mark.parametrize("name", ROLE_MATRIX)
def test_it_scopes_account_list_detail_and_search_by_role(world, api_for, name):
    # given
    org = world[0]
    sees_acct, sees_other, _edit_acct, _edit_other = ROLE_MATRIX[name]
    api = api_for(persona(org, name))
    # when / then: list
    assert result_ids(api.get("/api/v1/accounts/")) == expected([(org.acct.pk, sees_acct), (org.other.pk, sees_other)])
    # detail
    assert api.get(f"/api/v1/accounts/{org.acct.pk}/").status_code == (200 if sees_acct else 404)
    assert api.get(f"/api/v1/accounts/{org.other.pk}/").status_code == (200 if sees_other else 404)
    # search
    assert result_ids(api.get("/api/v1/accounts/", {"q": "浦江"})) == expected([(org.acct.pk, sees_acct)])
    assert result_ids(api.get("/api/v1/accounts/", {"q": "天府"})) == expected([(org.other.pk, sees_other)])
    # timeline and history follow the account
    assert api.get(f"/api/v1/accounts/{org.acct.pk}/timeline/").status_code == (200 if sees_acct else 404)
    assert api.get(f"/api/v1/accounts/{org.other.pk}/history/").status_code == (200 if sees_other else 404)


@pytest.mark.parametrize("name", ROLE_MATRIX)
def test_it_scopes_contacts_and_team_rows_by_role(world, api_for, name):
    # given
    org, c_acct, c_other, t_acct, t_other = world
    sees_acct, sees_other, _edit_acct, _edit_other = ROLE_MATRIX[name]
    api = api_for(persona(org, name))
    # then: contacts
    assert result_ids(api.get("/api/v1/contacts/")) == expected([(c_acct.pk, sees_acct), (c_other.pk, sees_other)])
    assert api.get(f"/api/v1/contacts/{c_acct.pk}/").status_code == (200 if sees_acct else 404)
    assert api.get(f"/api/v1/contacts/{c_other.pk}/").status_code == (200 if sees_other else 404)
    assert result_ids(api.get("/api/v1/contacts/", {"q": "李"})) == expected([(c_other.pk, sees_other)])
    # team rows
    assert result_ids(api.get("/api/v1/account-teams/")) == expected([(t_acct.pk, sees_acct), (t_other.pk, sees_other)])
    assert api.get(f"/api/v1/account-teams/{t_other.pk}/").status_code == (200 if sees_other else 404)


@pytest.mark.parametrize("name", ROLE_MATRIX)
def test_it_refuses_writes_by_role_without_changing_a_row(world, api_for, name):
    # given
    org, c_acct, c_other, t_acct, t_other = world
    sees_acct, sees_other, edits_acct, edits_other = ROLE_MATRIX[name]
    api = api_for(persona(org, name))
    changes_before = ObjectChange.objects.count()
    # when
    codes = {
        "acct": api.patch(f"/api/v1/accounts/{org.acct.pk}/", {"short_name": "改名"}).status_code,
        "other": api.patch(f"/api/v1/accounts/{org.other.pk}/", {"short_name": "改名"}).status_code,
    }
    # then
    def code(sees, edits):
        return 200 if edits else (403 if sees else 404)

    assert codes == {"acct": code(sees_acct, edits_acct), "other": code(sees_other, edits_other)}
    written = sum(1 for c in codes.values() if c == 200)
    assert Account.objects.filter(short_name="改名").count() == written
    assert ObjectChange.objects.count() == changes_before + written


@pytest.mark.parametrize("name", ROLE_MATRIX)
def test_it_refuses_contact_and_team_writes_by_role(world, api_for, name):
    # given
    org, c_acct, c_other, t_acct, t_other = world
    sees_acct, sees_other, edits_acct, edits_other = ROLE_MATRIX[name]
    api = api_for(persona(org, name))
    changes_before = ObjectChange.objects.count()
    expected_code = 204 if edits_other else (403 if sees_other else 404)
    # when
    contact = api.delete(f"/api/v1/contacts/{c_other.pk}/").status_code
    team = api.delete(f"/api/v1/account-teams/{t_other.pk}/").status_code
    # then
    assert (contact, team) == (expected_code, expected_code)
    if expected_code != 204:
        c_other.refresh_from_db()
        t_other.refresh_from_db()
        assert ObjectChange.objects.count() == changes_before


def test_it_grants_through_the_account_team_with_its_access_and_dates(org, api_for):
    # given: peer sees neither account by role
    api = api_for(org.peer)
    assert result_ids(api.get("/api/v1/accounts/")) == set()
    today = timezone.localdate()
    member = customer_services.team_member_add(account=org.other, user=org.peer, access="read",
                                               valid_from=today - dt.timedelta(days=1))
    # then: read access shows it in list, detail and search, but a write is 403
    assert result_ids(api.get("/api/v1/accounts/")) == {org.other.pk}
    assert api.get(f"/api/v1/accounts/{org.other.pk}/").status_code == 200
    assert result_ids(api.get("/api/v1/accounts/", {"q": "天府"})) == {org.other.pk}
    assert api.patch(f"/api/v1/accounts/{org.other.pk}/", {"tier": "key"}).status_code == 403
    org.other.refresh_from_db()
    assert org.other.tier == "strategic"
    # when access becomes edit, the write goes through
    customer_services.team_member_update(member=member, data={"access": "edit"})
    assert api.patch(f"/api/v1/accounts/{org.other.pk}/", {"tier": "key"}).status_code == 200
    # and when the membership has lapsed, the account is gone again
    customer_services.team_member_update(member=member, data={"valid_from": today - dt.timedelta(days=9),
                                                               "valid_to": today - dt.timedelta(days=2)})
    assert api.get(f"/api/v1/accounts/{org.other.pk}/").status_code == 404
    assert result_ids(api.get("/api/v1/accounts/", {"q": "天府"})) == set()


def test_it_grants_through_a_sharing_rule(org, api_for):
    # given
    api = api_for(org.marketing)
    assert api.get(f"/api/v1/accounts/{org.other.pk}/").status_code == 404
    # when: West's accounts are shared read-only with East (Marketing East sits below)
    org_services.sharing_rule_create(name="西部共享华东", source_unit=org.west, target_unit=org.east, access="read")
    # then
    assert result_ids(api.get("/api/v1/accounts/")) == {org.other.pk}
    assert result_ids(api.get("/api/v1/accounts/", {"q": "天府"})) == {org.other.pk}
    assert api.get(f"/api/v1/accounts/{org.other.pk}/").status_code == 200
    assert api.patch(f"/api/v1/accounts/{org.other.pk}/", {"tier": "key"}).status_code == 403
    # an edit rule lets the write through
    org_services.sharing_rule_create(name="西部编辑", source_unit=org.west, target_unit=org.mkt_east, access="edit")
    assert api.patch(f"/api/v1/accounts/{org.other.pk}/", {"tier": "key"}).status_code == 200


def test_it_requires_authentication(org, anon_api):
    for url in ("/api/v1/accounts/", f"/api/v1/accounts/{org.acct.pk}/", "/api/v1/contacts/", "/api/v1/users/",
                "/api/v1/org-units/", "/api/v1/account-teams/", "/api/v1/attribute-definitions/"):
        response = anon_api.get(url)
        assert response.status_code == 401, url
        assert response["WWW-Authenticate"] == "Token"
    assert anon_api.post("/api/v1/accounts/", {"name": "x"}).status_code == 401
    assert Account.objects.count() == 2

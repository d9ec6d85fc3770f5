"""Writes through the API: accounts, contacts and team members go through the services; who may
own a new account; what edit access a contact or a team member needs."""
import pytest

from kamcrm.audit.models import ObjectChange
from kamcrm.core.context import Channel
from kamcrm.customers import services as customer_services
from kamcrm.customers.models import Account, AccountTeamMember, Contact


def account_body(org, **extra):
    return {"name": "杭州西湖软件有限公司", "region": org.east.pk, **extra}


def test_it_creates_an_account_the_user_owns_and_audits_it_as_api(org, api_for):
    # when
    response = api_for(org.rep).post("/api/v1/accounts/", account_body(org, tier="key", tags=["云", "IDC", "云"]))
    # then
    assert response.status_code == 201, response.content
    body = response.json()
    account = Account.objects.get(pk=body["id"])
    assert account.owner == org.rep and account.owner_unit == org.team_e1
    assert body["owner"]["username"] == "rep" and body["owner_unit"]["code"] == "EAST-T1"
    assert account.tags == ["IDC", "云"]  # normalised by the service
    change = ObjectChange.objects.get(object_id=account.pk, action="create", content_type__model="account")
    assert (change.channel, change.actor) == (Channel.API, org.rep)


@pytest.mark.parametrize(("creator", "owner", "allowed"), [
    ("manager", "rep", True),  # the rep reports to the manager
    ("dept_head", "peer", True),  # peer's team lies in the department head's subtree
    ("admin", "outsider", True),  # administrators may choose anyone
    ("rep", "peer", False),  # a colleague, not a subordinate
    ("rep", "outsider", False),
    ("bizmgmt", "rep", False),  # sees the company, but edits only its own accounts
])
def test_it_lets_the_owner_be_only_someone_whose_accounts_the_creator_could_edit(org, api_for, creator, owner,
                                                                                   allowed):
    # when
    response = api_for(getattr(org, creator)).post("/api/v1/accounts/",
                                                   account_body(org, owner=getattr(org, owner).pk))
    # then
    if allowed:
        assert response.status_code == 201, response.content
        assert Account.objects.get(pk=response.json()["id"]).owner == getattr(org, owner)
    else:
        assert response.status_code == 400
        assert list(response.json()["errors"]) == ["owner"]
        assert Account.objects.count() == 2


def test_it_checks_the_owner_rule_when_ownership_changes(org, api_for):
    api = api_for(org.rep)
    response = api.patch(f"/api/v1/accounts/{org.acct.pk}/", {"owner": org.peer.pk})
    assert response.status_code == 400 and "owner" in response.json()["errors"]
    response = api_for(org.manager).patch(f"/api/v1/accounts/{org.acct.pk}/", {"owner": org.peer.pk})
    assert response.status_code == 200
    org.acct.refresh_from_db()
    assert org.acct.owner == org.peer


def test_it_updates_through_the_service_and_records_the_change(org, api_for):
    # when
    response = api_for(org.rep).patch(f"/api/v1/accounts/{org.acct.pk}/", {"tier": "strategic", "phone": "021-1234"})
    # then
    assert response.status_code == 200, response.content
    assert response.json()["tier"] == "strategic"
    change = ObjectChange.objects.filter(object_id=org.acct.pk, content_type__model="account", action="update").get()
    assert change.changes == {"tier": ["key", "strategic"], "phone": ["", "021-1234"]}
    assert change.channel == Channel.API


def test_a_full_put_needs_the_required_fields(org, api_for):
    response = api_for(org.rep).put(f"/api/v1/accounts/{org.acct.pk}/", {"tier": "normal"})
    assert response.status_code == 400
    assert "name" in response.json()["errors"]
    response = api_for(org.rep).put(f"/api/v1/accounts/{org.acct.pk}/", {"name": "浦江制造集团", "tier": "normal"})
    assert response.status_code == 200
    assert response.json()["name"] == "浦江制造集团"


def test_it_does_not_offer_deleting_accounts(org, api_for):
    assert api_for(org.admin).delete(f"/api/v1/accounts/{org.acct.pk}/").status_code == 405
    assert Account.objects.filter(pk=org.acct.pk).exists()


def test_it_sets_a_parent_only_among_visible_accounts(org, api_for):
    # rep cannot see `other`: naming it as parent reads like a record that does not exist
    response = api_for(org.rep).patch(f"/api/v1/accounts/{org.acct.pk}/", {"parent": org.other.pk})
    assert response.status_code == 400
    assert "parent" in response.json()["errors"]
    # admin can, and the answer nests the parent's brief form
    response = api_for(org.admin).patch(f"/api/v1/accounts/{org.acct.pk}/", {"parent": org.other.pk})
    assert response.status_code == 200
    assert response.json()["parent"]["id"] == org.other.pk
    # a cycle is refused by the service, naming the field
    response = api_for(org.admin).patch(f"/api/v1/accounts/{org.other.pk}/", {"parent": org.acct.pk})
    assert response.status_code == 400 and "parent" in response.json()["errors"]


def test_it_creates_contacts_only_with_edit_access_to_the_account(org, api_for):
    body = {"account": org.acct.pk, "name": "王芳", "title": "采购总监", "decision_role": "decision_maker"}
    # bizmgmt sees the account but may not edit it
    assert api_for(org.bizmgmt).post("/api/v1/contacts/", body).status_code == 403
    # peer cannot see it at all: the account is unknown to them
    response = api_for(org.peer).post("/api/v1/contacts/", body)
    assert response.status_code == 400 and "account" in response.json()["errors"]
    assert Contact.objects.count() == 0
    # the owner may
    response = api_for(org.rep).post("/api/v1/contacts/", body)
    assert response.status_code == 201, response.content
    assert response.json()["account"]["id"] == org.acct.pk
    assert Contact.objects.get().name == "王芳"


def test_it_updates_and_deletes_contacts(org, api_for):
    contact = customer_services.contact_create(account=org.acct, name="王芳")
    api = api_for(org.rep)
    response = api.patch(f"/api/v1/contacts/{contact.pk}/", {"relationship_strength": 4, "email": "wf@example.cn"})
    assert response.status_code == 200, response.content
    contact.refresh_from_db()
    assert (contact.relationship_strength, contact.email) == (4, "wf@example.cn")
    assert api.delete(f"/api/v1/contacts/{contact.pk}/").status_code == 204
    assert not Contact.objects.exists()


def test_it_moves_a_contact_only_to_an_account_the_user_may_edit(org, api_for):
    contact = customer_services.contact_create(account=org.other, name="李娜")
    customer_services.team_member_add(account=org.acct, user=org.outsider, access="read")
    response = api_for(org.outsider).patch(f"/api/v1/contacts/{contact.pk}/", {"account": org.acct.pk})
    assert response.status_code == 403
    contact.refresh_from_db()
    assert contact.account == org.other


def test_it_manages_account_team_members(org, api_for):
    api = api_for(org.manager)
    # add
    response = api.post("/api/v1/account-teams/", {"account": org.acct.pk, "user": org.service.pk,
                                                   "team_role": "service", "access": "read", "reason": "售后"})
    assert response.status_code == 201, response.content
    member_id = response.json()["id"]
    assert response.json()["user"]["username"] == "service"
    # the same person twice is refused by the service, naming the field
    again = api.post("/api/v1/account-teams/", {"account": org.acct.pk, "user": org.service.pk})
    assert again.status_code == 400 and "user" in again.json()["errors"]
    # change
    response = api.patch(f"/api/v1/account-teams/{member_id}/", {"access": "edit", "valid_to": "2030-12-31"})
    assert response.status_code == 200
    assert AccountTeamMember.objects.get(pk=member_id).access == "edit"
    # a membership cannot move to another person
    response = api.patch(f"/api/v1/account-teams/{member_id}/", {"user": org.peer.pk})
    assert response.status_code == 400 and "user" in response.json()["errors"]
    # bad date range is refused by the model's constraint
    response = api.patch(f"/api/v1/account-teams/{member_id}/", {"valid_from": "2031-01-01"})
    assert response.status_code == 400
    # remove
    assert api.delete(f"/api/v1/account-teams/{member_id}/").status_code == 204
    assert not AccountTeamMember.objects.exists()


def test_it_adds_team_members_only_with_edit_access(org, api_for):
    response = api_for(org.bizmgmt).post("/api/v1/account-teams/", {"account": org.acct.pk, "user": org.service.pk})
    assert response.status_code == 403
    assert not AccountTeamMember.objects.exists()


def test_it_reads_history_and_timeline_of_api_writes(org, api_for):
    api = api_for(org.rep)
    api.patch(f"/api/v1/accounts/{org.acct.pk}/", {"phone": "021-5555"})
    customer_services.interaction_log(account=org.acct, kind="call", subject="电话回访", by=org.rep)
    # history: newest first, channel and actor
    history = api.get(f"/api/v1/accounts/{org.acct.pk}/history/").json()["results"]
    assert history[0]["channel"] == "api" and history[0]["actor"]["username"] == "rep"
    assert history[0]["changes"] == {"phone": ["", "021-5555"]}
    # timeline: kinds filter and keyset pages
    calls = api.get(f"/api/v1/accounts/{org.acct.pk}/timeline/", {"kind": "call"}).json()
    assert [e["summary"] for e in calls["results"]] == ["电话回访"]
    first = api.get(f"/api/v1/accounts/{org.acct.pk}/timeline/", {"page_size": 1}).json()
    assert len(first["results"]) == 1 and first["next"]
    second = api.get(first["next"]).json()
    assert second["results"][0]["id"] != first["results"][0]["id"]

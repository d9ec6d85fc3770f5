"""Create-or-update by (source system, external id): 201 then 200, idempotent, references by natural keys."""
from kamcrm.audit.models import ObjectChange
from kamcrm.core.attribute_services import attribute_definition_create
from kamcrm.core.validators import credit_code_check_char
from kamcrm.customers import services as customer_services
from kamcrm.customers.models import Account, Contact

ACCOUNTS = "/api/v1/accounts/by-external-id"
CONTACTS = "/api/v1/contacts/by-external-id"


def test_it_creates_then_updates_an_account_by_external_id(org, api_for):
    api = api_for(org.manager)
    body = {"name": "南京紫金电子有限公司", "region_code": "EAST", "owner_username": "rep", "tier": "key",
            "tags": ["制造", "IDC"]}
    # when: first call creates
    first = api.put(f"{ACCOUNTS}/erp/C-1001/", body)
    # then
    assert first.status_code == 201, first.content
    account = Account.objects.get(source_system="erp", external_id="C-1001")
    assert (account.region, account.owner, account.tier) == (org.east, org.rep, "key")
    # when: a changed body updates the same record
    second = api.put(f"{ACCOUNTS}/erp/C-1001/", {**body, "tier": "strategic"})
    assert second.status_code == 200
    assert second.json()["id"] == account.pk
    assert Account.objects.filter(source_system="erp").count() == 1
    account.refresh_from_db()
    assert account.tier == "strategic"


def test_the_same_body_twice_changes_nothing(org, api_for):
    # given
    attribute_definition_create(entity="account", key="employees", label_zh="员工数", label_en="Employees",
                                type="number")
    api = api_for(org.rep)
    code17 = "91320100MA1FL0XQ0"
    # Values the service normalises (case, tag order, duplicates, number text) must not count as changes.
    body = {"name": "南京紫金电子有限公司", "region_code": "EAST", "tags": ["IDC", "制造", "IDC"],
            "credit_code": (code17 + credit_code_check_char(code17)).lower(), "attributes": {"employees": "1,200"}}
    assert api.put(f"{ACCOUNTS}/erp/C-2/", body).status_code == 201
    account = Account.objects.get(external_id="C-2")
    changes, updated_at = ObjectChange.objects.count(), account.updated_at
    # when
    again = api.put(f"{ACCOUNTS}/erp/C-2/", body)
    # then
    assert again.status_code == 200
    assert ObjectChange.objects.count() == changes
    account.refresh_from_db()
    assert account.updated_at == updated_at
    assert account.attributes == {"employees": 1200}


def test_it_resolves_the_parent_by_external_id_in_the_same_source_system(org, api_for):
    api = api_for(org.rep)
    assert api.put(f"{ACCOUNTS}/erp/G-1/", {"name": "紫金集团", "region_code": "EAST"}).status_code == 201
    customer_services.account_create(name="别的系统的同号", region=org.east, owner=org.rep, source_system="crm",
                                     external_id="G-9")
    # when
    response = api.put(f"{ACCOUNTS}/erp/S-1/", {"name": "紫金电子", "region_code": "EAST", "parent_external_id": "G-1"})
    # then
    assert response.status_code == 201
    assert response.json()["parent"]["display"] == "紫金集团"
    # an id from another source system is not found
    response = api.put(f"{ACCOUNTS}/erp/S-2/", {"name": "紫金光电", "region_code": "EAST", "parent_external_id": "G-9"})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["parent_external_id"]


def test_it_refuses_an_upsert_of_a_record_the_user_cannot_change(org, api_for):
    customer_services.account_update(account=org.other, data={"source_system": "erp", "external_id": "W-1"})
    body = {"name": "改名", "region_code": "WEST"}
    changes = ObjectChange.objects.count()
    assert api_for(org.rep).put(f"{ACCOUNTS}/erp/W-1/", body).status_code == 404  # cannot see it
    assert api_for(org.bizmgmt).put(f"{ACCOUNTS}/erp/W-1/", body).status_code == 403  # sees, may not edit
    org.other.refresh_from_db()
    assert org.other.name == "成都天府物流集团"
    assert ObjectChange.objects.count() == changes


def test_it_refuses_a_body_naming_another_record(org, api_for):
    response = api_for(org.rep).put(f"{ACCOUNTS}/erp/C-3/", {"name": "x", "region_code": "EAST",
                                                             "external_id": "C-4"})
    assert response.status_code == 400 and list(response.json()["errors"]) == ["external_id"]
    assert not Account.objects.filter(source_system="erp").exists()


def test_it_applies_the_owner_rule_on_create(org, api_for):
    response = api_for(org.rep).put(f"{ACCOUNTS}/erp/C-5/", {"name": "x", "region_code": "EAST",
                                                            "owner_username": "outsider"})
    assert response.status_code == 400 and list(response.json()["errors"]) == ["owner"]


def test_it_reads_an_account_by_external_id(org, api_for):
    customer_services.account_update(account=org.acct, data={"source_system": "erp", "external_id": "E/1"})
    response = api_for(org.rep).get(f"{ACCOUNTS}/erp/E/1/")
    assert response.status_code == 200 and response.json()["id"] == org.acct.pk
    assert api_for(org.outsider).get(f"{ACCOUNTS}/erp/E/1/").status_code == 404


def test_it_upserts_contacts_referencing_the_account_by_external_id(org, api_for):
    # given
    customer_services.account_update(account=org.acct, data={"source_system": "erp", "external_id": "A-1"})
    api = api_for(org.rep)
    body = {"name": "钱七", "account_external_id": "A-1", "mobile": "13700000007", "decision_role": "influencer"}
    # when
    first = api.put(f"{CONTACTS}/erp/P-1/", body)
    changes = ObjectChange.objects.count()
    second = api.put(f"{CONTACTS}/erp/P-1/", body)
    # then
    assert (first.status_code, second.status_code) == (201, 200)
    assert ObjectChange.objects.count() == changes
    contact = Contact.objects.get(source_system="erp", external_id="P-1")
    assert contact.account == org.acct and first.json()["account"]["id"] == org.acct.pk
    # by account id works as well, and an update sends only what changed
    third = api.put(f"{CONTACTS}/erp/P-1/", {"title": "总经理", "account": org.acct.pk})
    assert third.status_code == 200
    contact.refresh_from_db()
    assert (contact.title, contact.mobile) == ("总经理", "13700000007")


def test_it_refuses_a_contact_upsert_without_edit_on_the_account(org, api_for):
    customer_services.account_update(account=org.acct, data={"source_system": "erp", "external_id": "A-1"})
    body = {"name": "钱七", "account_external_id": "A-1"}
    assert api_for(org.bizmgmt).put(f"{CONTACTS}/erp/P-1/", body).status_code == 403
    response = api_for(org.outsider).put(f"{CONTACTS}/erp/P-1/", body)
    assert response.status_code == 400 and list(response.json()["errors"]) == ["account_external_id"]
    response = api_for(org.rep).put(f"{CONTACTS}/erp/P-1/", {"name": "钱七"})
    assert response.status_code == 400 and list(response.json()["errors"]) == ["account"]
    assert not Contact.objects.exists()

"""Organisation units (read for all, write for administrators), people (read only, filtered) and
attribute definitions (read for all, write for administrators, through the attribute services)."""
import pytest

from kamcrm.core.models import AttributeDefinition
from kamcrm.customers import services as customer_services
from kamcrm.org import services as org_services
from kamcrm.org.models import OrgUnit


def usernames(response):
    assert response.status_code == 200, response.content
    return [row["username"] for row in response.json()["results"]]


def test_everyone_reads_units_in_tree_order(org, api_for):
    response = api_for(org.partner).get("/api/v1/org-units/")
    assert response.status_code == 200
    codes = [row["code"] for row in response.json()["results"]]
    assert codes[:4] == ["HQ", "EAST", "EAST-SALES", "EAST-T1"] and len(codes) == 10
    within = api_for(org.rep).get("/api/v1/org-units/", {"within": org.west.pk}).json()["results"]
    assert {row["code"] for row in within} == {"WEST", "WEST-SALES", "WEST-T1", "WEST-SVC"}


def test_only_administrators_write_units(org, api_for):
    body = {"name": "华东二组", "code": "EAST-T2", "kind": "team", "parent": org.sales_east.pk}
    assert api_for(org.exec_).post("/api/v1/org-units/", body).status_code == 403
    assert api_for(org.dept_head).patch(f"/api/v1/org-units/{org.team_e1.pk}/", {"name": "x"}).status_code == 403
    assert not OrgUnit.objects.filter(code="EAST-T2").exists()
    # an administrator creates one; the service sets the materialised path
    response = api_for(org.admin).post("/api/v1/org-units/", body)
    assert response.status_code == 201, response.content
    unit = OrgUnit.objects.get(code="EAST-T2")
    assert unit.path.startswith(org.sales_east.path) and response.json()["parent"]["code"] == "EAST-SALES"
    # moves are checked by the service, naming the field
    response = api_for(org.admin).patch(f"/api/v1/org-units/{org.east.pk}/", {"parent": unit.pk})
    assert response.status_code == 400 and list(response.json()["errors"]) == ["parent"]
    response = api_for(org.admin).post("/api/v1/org-units/", {**body, "kind": "galaxy"})
    assert response.status_code == 400 and set(response.json()["errors"]) == {"kind"}
    response = api_for(org.admin).post("/api/v1/org-units/", body)
    assert response.status_code == 400 and set(response.json()["errors"]) == {"code"}


def test_units_are_not_deleted_through_the_api(org, api_for):
    assert api_for(org.admin).delete(f"/api/v1/org-units/{org.partners.pk}/").status_code == 405


def test_users_are_read_only_and_filtered(org, api_for):
    api = api_for(org.rep)
    assert usernames(api.get("/api/v1/users/", {"q": "ma"})) == ["manager", "marketing"]
    assert usernames(api.get("/api/v1/users/", {"unit": org.sales_east.pk})) == ["dept_head", "manager", "peer",
                                                                                  "rep"]
    assert usernames(api.get("/api/v1/users/", {"role": ["sales_manager", "department_head"]})) == ["dept_head",
                                                                                                    "manager"]
    org_services.user_update(user=org.peer, data={"is_active": False})
    assert usernames(api.get("/api/v1/users/", {"is_active": "false"})) == ["peer"]
    detail = api.get(f"/api/v1/users/{org.rep.pk}/").json()
    assert detail["manager"]["username"] == "manager" and detail["unit"]["code"] == "EAST-T1"
    assert "password" not in detail
    assert api.post("/api/v1/users/", {"username": "x"}).status_code == 405
    assert api.patch(f"/api/v1/users/{org.rep.pk}/", {"role": "administrator"}).status_code == 405


def test_brief_lists_return_the_short_form(org, api_for):
    row = api_for(org.rep).get("/api/v1/users/", {"brief": "true", "q": "rep"}).json()["results"][0]
    assert set(row) == {"id", "url", "display", "username"}
    row = api_for(org.rep).get("/api/v1/accounts/", {"brief": "1"}).json()["results"][0]
    assert set(row) == {"id", "url", "display", "name"}


def test_attribute_definitions_are_read_by_all_and_written_by_administrators(org, api_for):
    body = {"entity": "account", "key": "contract_level", "label_zh": "合同等级", "label_en": "Contract level",
            "type": "choice", "choices": ["A", "B"]}
    assert api_for(org.dept_head).post("/api/v1/attribute-definitions/", body).status_code == 403
    assert not AttributeDefinition.objects.exists()
    response = api_for(org.admin).post("/api/v1/attribute-definitions/", body)
    assert response.status_code == 201, response.content
    definition_id = response.json()["id"]
    listed = api_for(org.rep).get("/api/v1/attribute-definitions/", {"entity": "account"}).json()["results"]
    assert [d["key"] for d in listed] == ["contract_level"]
    # the service's rules, naming the field
    response = api_for(org.admin).post("/api/v1/attribute-definitions/", {**body, "key": "Bad Key"})
    assert response.status_code == 400 and "key" in response.json()["errors"]
    response = api_for(org.admin).post("/api/v1/attribute-definitions/", {**body, "choices": []})
    assert response.status_code == 400 and "choices" in response.json()["errors"]
    # once a value is stored, the type cannot change and the definition cannot go
    customer_services.account_update(account=org.acct, data={"attributes": {"contract_level": "A"}})
    response = api_for(org.admin).patch(f"/api/v1/attribute-definitions/{definition_id}/", {"type": "text",
                                                                                             "choices": []})
    assert response.status_code == 400 and "type" in response.json()["errors"]
    response = api_for(org.admin).delete(f"/api/v1/attribute-definitions/{definition_id}/")
    assert response.status_code == 400 and "__all__" in response.json()["errors"]
    assert AttributeDefinition.objects.filter(pk=definition_id).exists()


@pytest.fixture
def defined(org):
    from kamcrm.core.attribute_services import attribute_definition_create

    attribute_definition_create(entity="account", key="segment", label_zh="细分", label_en="Segment", type="choice",
                                choices=["政企", "中小企业"])
    attribute_definition_create(entity="account", key="employees", label_zh="员工数", label_en="Employees",
                                type="number")
    attribute_definition_create(entity="contact", key="hobby", label_zh="爱好", label_en="Hobby", type="text")
    return org


def test_it_reads_and_writes_custom_attributes(defined, api_for):
    org = defined
    api = api_for(org.rep)
    response = api.patch(f"/api/v1/accounts/{org.acct.pk}/", {"attributes": {"segment": "政企", "employees": "300"}})
    assert response.status_code == 200, response.content
    assert response.json()["attributes"] == {"segment": "政企", "employees": 300}
    # a later write merges key by key; null removes one
    response = api.patch(f"/api/v1/accounts/{org.acct.pk}/", {"attributes": {"employees": None}})
    assert response.json()["attributes"] == {"segment": "政企"}
    # contacts have their own definitions
    response = api.post("/api/v1/contacts/", {"account": org.acct.pk, "name": "孙八", "attributes": {"hobby": "围棋"}})
    assert response.status_code == 201 and response.json()["attributes"] == {"hobby": "围棋"}
    response = api.post("/api/v1/contacts/", {"account": org.acct.pk, "name": "孙八", "attributes": {"segment": "政企"}})
    assert response.status_code == 400 and list(response.json()["errors"]) == ["attributes.segment"]


def test_it_filters_lists_by_custom_attributes(defined, api_for):
    org = defined
    customer_services.account_update(account=org.acct, data={"attributes": {"segment": "政企"}})
    customer_services.account_update(account=org.other, data={"attributes": {"segment": "中小企业"}})
    api = api_for(org.admin)
    ids = [row["id"] for row in api.get("/api/v1/accounts/", {"attr_segment": "政企"}).json()["results"]]
    assert ids == [org.acct.pk]
    # and the visibility gate still applies under the filter
    assert api_for(org.outsider).get("/api/v1/accounts/", {"attr_segment": "政企"}).json()["results"] == []
    response = api.get("/api/v1/accounts/", {"attr_segment": "金融"})
    assert response.status_code == 400 and list(response.json()["errors"]) == ["attr_segment"]


def test_it_sorts_and_pages_accounts_by_keyset(org, api_for):
    for i in range(5):
        customer_services.account_create(name=f"测试客户{i}", region=org.east, owner=org.rep)
    api = api_for(org.rep)
    names = [r["name"] for r in api.get("/api/v1/accounts/", {"sort": "-name"}).json()["results"]]
    assert names == sorted(names, reverse=True) and len(names) == 6
    # walk forward two at a time, then back
    seen, url = [], "/api/v1/accounts/?sort=name&page_size=2"
    pages = []
    while url:
        page = api.get(url).json()
        pages.append(page)
        seen += [r["name"] for r in page["results"]]
        url = page["next"]
    assert seen == sorted(seen) and len(seen) == 6 and len(pages) == 3
    back = api.get(pages[2]["previous"]).json()
    assert [r["name"] for r in back["results"]] == seen[2:4]
    # most recently updated first
    customer_services.account_update(account=org.acct, data={"phone": "1"})
    first = api.get("/api/v1/accounts/", {"sort": "-updated", "page_size": 1}).json()["results"][0]
    assert first["id"] == org.acct.pk

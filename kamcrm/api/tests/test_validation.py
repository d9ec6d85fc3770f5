"""Bad input gets a 400 whose body names each field, and nothing is written."""
import pytest

from kamcrm.core.attribute_services import attribute_definition_create
from kamcrm.customers.models import Account


@pytest.fixture
def attrs(org):
    attribute_definition_create(entity="account", key="employees", label_zh="员工数", label_en="Employees",
                                type="number", min_value=0)
    attribute_definition_create(entity="account", key="segment", label_zh="细分市场", label_en="Segment",
                                type="choice", choices=["政企", "中小企业"])
    return org


def post_account(api, org, **body):
    return api.post("/api/v1/accounts/", {"name": "苏州工业园区科技有限公司", "region": org.east.pk, **body})


def assert_refused(response, *fields):
    assert response.status_code == 400, response.content
    body = response.json()
    assert set(body) == {"detail", "errors"}
    assert set(body["errors"]) == set(fields)
    for field in fields:
        assert body["errors"][field] and all(isinstance(m, str) and m for m in body["errors"][field])
    assert Account.objects.count() == 2  # only the fixture's


@pytest.mark.parametrize("code", ["91310000MA1FL0XQ05", "1234", "91310000MA1FL0XQOI"])
def test_it_names_a_bad_credit_code(attrs, api_for, code):
    assert_refused(post_account(api_for(attrs.rep), attrs, credit_code=code), "credit_code")


def test_it_names_a_credit_code_already_used(attrs, api_for):
    assert_refused(post_account(api_for(attrs.rep), attrs, credit_code="91310000ma1fl0xq04"), "credit_code")


def test_it_names_an_external_id_already_used(attrs, api_for):
    api = api_for(attrs.admin)
    assert api.patch(f"/api/v1/accounts/{attrs.acct.pk}/", {"source_system": "erp", "external_id": "X-1"}).status_code == 200
    response = api.patch(f"/api/v1/accounts/{attrs.other.pk}/", {"source_system": "erp", "external_id": "X-1"})
    assert response.status_code == 400 and list(response.json()["errors"]) == ["external_id"]


def test_it_names_an_unknown_attribute(attrs, api_for):
    response = post_account(api_for(attrs.rep), attrs, attributes={"employees": 20, "colour": "red"})
    assert_refused(response, "attributes.colour")


def test_it_names_an_attribute_of_the_wrong_type(attrs, api_for):
    response = post_account(api_for(attrs.rep), attrs, attributes={"employees": "many", "segment": "政企"})
    assert_refused(response, "attributes.employees")
    response = post_account(api_for(attrs.rep), attrs, attributes={"segment": "大客户"})
    assert_refused(response, "attributes.segment")


def test_it_refuses_attributes_that_are_not_an_object(attrs, api_for):
    assert_refused(post_account(api_for(attrs.rep), attrs, attributes=["employees"]), "attributes")


def test_it_names_a_missing_or_blank_name(attrs, api_for):
    api = api_for(attrs.rep)
    assert_refused(api.post("/api/v1/accounts/", {"region": attrs.east.pk}), "name")
    assert_refused(api.post("/api/v1/accounts/", {"name": "   ", "region": attrs.east.pk}), "name")


def test_it_names_a_missing_region(attrs, api_for):
    assert_refused(api_for(attrs.rep).post("/api/v1/accounts/", {"name": "无锡某公司"}), "region")


@pytest.mark.parametrize(("body", "field"), [
    ({"owner": 999999}, "owner"),
    ({"owner": "rep"}, "owner"),
    ({"owner_username": "nobody"}, "owner_username"),
    ({"region_code": "NOWHERE"}, "region_code"),
    ({"tier": "gold"}, "tier"),
    ({"tags": "not-a-list"}, "tags"),
])
def test_it_names_bad_references_and_choices(attrs, api_for, body, field):
    assert_refused(post_account(api_for(attrs.rep), attrs, **body), field)


def test_it_names_an_owner_outside_the_users_reach(attrs, api_for):
    assert_refused(post_account(api_for(attrs.rep), attrs, owner=attrs.outsider.pk), "owner")
    assert_refused(post_account(api_for(attrs.rep), attrs, owner_username="outsider"), "owner")


def test_it_names_every_bad_field_at_once(attrs, api_for):
    response = api_for(attrs.rep).post("/api/v1/accounts/", {"credit_code": "123", "tier": "gold"})
    assert_refused(response, "name", "credit_code", "tier", "region")


def test_it_validates_updates_and_writes_nothing_when_refused(attrs, api_for):
    api = api_for(attrs.rep)
    response = api.patch(f"/api/v1/accounts/{attrs.acct.pk}/", {"short_name": "新简称",
                                                                 "attributes": {"employees": -5}})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["attributes.employees"]
    attrs.acct.refresh_from_db()
    assert attrs.acct.short_name == "浦江制造"


def test_it_names_bad_contact_fields(org, api_for):
    response = api_for(org.rep).post("/api/v1/contacts/", {"account": org.acct.pk, "name": "赵六",
                                                           "email": "not-an-email", "relationship_strength": 9,
                                                           "birthday": "1990-02-30"})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"email", "relationship_strength", "birthday"}
    response = api_for(org.rep).post("/api/v1/contacts/", {"name": "赵六"})
    assert set(response.json()["errors"]) == {"account"}


def test_it_names_bad_list_parameters(org, api_for):
    api = api_for(org.rep)
    for params, field in [({"sort": "credit_code"}, "sort"), ({"page_size": "many"}, "page_size"),
                          ({"cursor": "garbage"}, "cursor"), ({"tier": "gold"}, "tier"),
                          ({"attr_nothing": "1"}, "attr_nothing"), ({"region": "999999"}, "region")]:
        response = api.get("/api/v1/accounts/", params)
        assert response.status_code == 400, params
        assert list(response.json()["errors"]) == [field], params


def test_it_answers_404_in_the_same_format(org, api_for):
    response = api_for(org.rep).get("/api/v1/accounts/999999/")
    assert response.status_code == 404
    assert set(response.json()) == {"detail"}

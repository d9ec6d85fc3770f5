"""Custom-attribute definitions: the service rules and the administrators-only UI."""
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from kamcrm.audit.models import ObjectChange
from kamcrm.core.attribute_services import (
    attribute_definition_create,
    attribute_definition_delete,
    attribute_definition_update,
)
from kamcrm.core.models import AttributeDefinition
from kamcrm.customers import services as customer_services


@pytest.fixture(autouse=True)
def _plain_http(settings):
    settings.SECURE_SSL_REDIRECT = False


def make(**extra):
    data = {"entity": "account", "key": "level", "label_zh": "级别", "label_en": "Level", "type": "text", **extra}
    return attribute_definition_create(**data)


def error_fields(callable_, **kwargs):
    with pytest.raises(ValidationError) as exc:
        callable_(**kwargs)
    return set(exc.value.message_dict)


# --- service rules --------------------------------------------------------------------------------


@pytest.mark.parametrize(("extra", "field"), [
    ({"key": "Level"}, "key"),
    ({"key": "level-2"}, "key"),
    ({"key": "2nd"}, "key"),
    ({"key": "有级别"}, "key"),
    ({"type": "choice", "choices": []}, "choices"),
    ({"type": "multi_choice", "choices": ["A", "A"]}, "choices"),
    ({"type": "multi_choice", "choices": ["A;B"]}, "choices"),
    ({"type": "text", "choices": ["A"]}, "choices"),
    ({"type": "number", "min_value": Decimal("10"), "max_value": Decimal("1")}, "max_value"),
    ({"type": "date", "min_value": Decimal("1")}, "min_value"),
    ({"type": "number", "max_length": 5}, "max_length"),
])
def test_it_refuses_a_bad_definition_on_the_field_at_fault(db, extra, field):
    assert field in error_fields(make, **extra)
    assert not AttributeDefinition.objects.exists()


def test_it_accepts_good_definitions_and_normalises_choices(db):
    choice = make(key="segment", type="choice", choices=[" 政府 ", "企业", ""])
    number = make(key="employees", type="number", min_value=Decimal("0"), max_value=Decimal("0"))
    assert choice.choices == ["政府", "企业"]
    assert number.min_value == number.max_value == 0


def test_it_refuses_a_key_an_entity_already_has(db):
    make()
    assert error_fields(make) == {"key"}
    make(entity="contact")  # the same key on another entity is fine


def test_it_refuses_to_change_the_type_once_values_are_stored(org):
    # given
    defn = make(key="employees", type="number")
    customer_services.account_update(account=org.acct, data={"attributes": {"employees": 120}})
    # when / then
    fields = error_fields(attribute_definition_update, definition=defn, data={"type": "text"})
    assert fields == {"type"}
    assert error_fields(attribute_definition_update, definition=defn, data={"key": "staff"}) == {"key"}
    defn.refresh_from_db()
    assert defn.type == "number" and defn.key == "employees"
    # the label may change
    attribute_definition_update(definition=defn, data={"label_en": "Staff"})
    assert AttributeDefinition.objects.get(pk=defn.pk).label_en == "Staff"


def test_it_allows_a_type_change_while_nothing_is_stored(db):
    defn = make(type="text")
    attribute_definition_update(definition=defn, data={"type": "choice", "choices": ["A", "B"]})
    defn.refresh_from_db()
    assert (defn.type, defn.choices) == ("choice", ["A", "B"])


def test_it_refuses_removing_a_choice_still_in_use(org):
    # given
    defn = make(key="segment", type="multi_choice", choices=["政府", "企业", "学校"])
    customer_services.account_update(account=org.acct, data={"attributes": {"segment": ["企业"]}})
    # then: 企业 is stored, 学校 is not
    assert error_fields(attribute_definition_update, definition=defn, data={"choices": ["政府", "学校"]}) == {"choices"}
    attribute_definition_update(definition=defn, data={"choices": ["政府", "企业"]})
    assert AttributeDefinition.objects.get(pk=defn.pk).choices == ["政府", "企业"]


def test_it_refuses_deleting_a_definition_with_stored_values(org):
    defn = make(key="segment", type="choice", choices=["政府"])
    customer_services.account_update(account=org.acct, data={"attributes": {"segment": "政府"}})
    with pytest.raises(ValidationError):
        attribute_definition_delete(definition=defn)
    assert AttributeDefinition.objects.filter(pk=defn.pk).exists()
    customer_services.account_update(account=org.acct, data={"attributes": {"segment": None}})  # clears it
    attribute_definition_delete(definition=defn)
    assert not AttributeDefinition.objects.filter(pk=defn.pk).exists()


def test_it_audits_definition_changes(db):
    defn = make()
    attribute_definition_update(definition=defn, data={"label_zh": "等级"})
    actions = list(ObjectChange.objects.filter(object_id=defn.pk).values_list("action", flat=True))
    assert sorted(actions) == ["create", "update"]


# --- views ----------------------------------------------------------------------------------------


FORM = {"entity": "account", "key": "segment", "label_zh": "细分市场", "label_en": "Segment", "type": "choice",
        "choices": "政府\r\n企业\r\n", "filterable": "on", "order": "10"}


def test_it_lists_definitions_by_entity_for_administrators(org, client_for):
    make(key="segment", type="choice", choices=["政府", "企业"])
    response = client_for(org.admin).get(reverse("org:attribute_list"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<code>segment</code>" in html and "政府, 企业" in html


@pytest.mark.parametrize("persona", ["rep", "exec_", "dept_head"])
def test_it_refuses_the_attribute_pages_to_non_administrators(org, client_for, persona):
    # given
    defn = make()
    client = client_for(getattr(org, persona))
    before = ObjectChange.objects.count()
    # when / then
    for url, data in [(reverse("org:attribute_list"), None), (reverse("org:attribute_add"), FORM),
                      (reverse("org:attribute_edit", args=[defn.pk]), {**FORM, "key": "level", "type": "text", "choices": ""}),
                      (reverse("org:attribute_delete", args=[defn.pk]), {})]:
        assert client.get(url).status_code == 403
        if data is not None:
            assert client.post(url, data).status_code == 403
    assert list(AttributeDefinition.objects.values_list("key", "label_en")) == [("level", "Level")]
    assert ObjectChange.objects.count() == before


def test_it_adds_a_definition_from_the_form(org, client_for):
    response = client_for(org.admin).post(reverse("org:attribute_add"), FORM)
    assert response.status_code == 302 and response["Location"] == reverse("org:attribute_list")
    defn = AttributeDefinition.objects.get(key="segment")
    assert (defn.choices, defn.filterable, defn.required, defn.order) == (["政府", "企业"], True, False, 10)


def test_it_shows_service_errors_on_their_fields(org, client_for):
    response = client_for(org.admin).post(reverse("org:attribute_add"), {**FORM, "key": "Bad Key", "choices": "",
                                                                        "min_value": "5"})
    assert response.status_code == 200
    assert {"key", "choices", "min_value"} <= set(response.context["form"].errors)
    assert 'data-field-error="choices"' in response.content.decode()
    assert not AttributeDefinition.objects.exists()


def test_it_refuses_a_type_change_in_the_form_once_values_exist(org, client_for):
    defn = make(key="employees", type="number")
    customer_services.account_update(account=org.acct, data={"attributes": {"employees": 3}})
    response = client_for(org.admin).post(reverse("org:attribute_edit", args=[defn.pk]), {
        "entity": "account", "key": "employees", "label_zh": "员工", "label_en": "Employees", "type": "text",
        "order": "1"})
    assert "type" in response.context["form"].errors
    assert AttributeDefinition.objects.get(pk=defn.pk).type == "number"


def test_it_deletes_an_unused_definition_and_explains_a_refusal(org, client_for):
    client = client_for(org.admin)
    unused, used = make(key="unused"), make(key="used")
    customer_services.account_update(account=org.acct, data={"attributes": {"used": "x"}})
    assert client.post(reverse("org:attribute_delete", args=[unused.pk])).status_code == 302
    refused = client.post(reverse("org:attribute_delete", args=[used.pk]))
    assert refused.status_code == 200 and 'data-testid="form-errors"' in refused.content.decode()
    assert list(AttributeDefinition.objects.values_list("key", flat=True)) == ["used"]


def test_the_django_admin_applies_the_same_rules(org, client_for):
    client = client_for(org.admin)
    data = {"entity": "account", "key": "segment", "label_zh": "细分", "label_en": "Segment", "type": "choice",
            "choices": "[]", "order": "1", "filterable": "on"}
    refused = client.post("/admin/core/attributedefinition/add/", data)
    assert refused.status_code == 200 and "choices" in refused.context["adminform"].form.errors
    assert not AttributeDefinition.objects.exists()
    accepted = client.post("/admin/core/attributedefinition/add/", {**data, "choices": '["政府", "企业"]'})
    assert accepted.status_code == 302
    assert AttributeDefinition.objects.get(key="segment").choices == ["政府", "企业"]
    assert ObjectChange.objects.filter(action="create", object_repr="account.segment").count() == 1

"""The custom-attribute engine: coercion of every type, whole-dict validation, and list filters."""
import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from kamcrm.core.attributes import attribute_filter, clean_attributes, coerce_value
from kamcrm.core.models import AttributeDefinition, AttributeType
from kamcrm.customers import services as customer_services
from kamcrm.customers.models import Account, Contact


def defn(type_, key="x", **extra) -> AttributeDefinition:
    """An unsaved definition: coercion needs no database."""
    return AttributeDefinition(entity="account", key=key, label_zh=key, label_en=key, type=type_, **extra)


def refused(d: AttributeDefinition, raw) -> str:
    with pytest.raises(ValueError) as excinfo:
        coerce_value(d, raw)
    return str(excinfo.value)


# --- coercion, type by type ---------------------------------------------------------------------

@pytest.mark.parametrize("raw", [None, "", []])
def test_it_treats_empty_input_as_no_value(raw):
    for type_ in AttributeType.values:
        assert coerce_value(defn(type_, choices=["a"]), raw) is None


def test_it_strips_text_and_enforces_its_maximum_length():
    d = defn(AttributeType.TEXT, max_length=4)
    assert coerce_value(d, "  华为云  ") == "华为云"
    assert coerce_value(d, "abcd") == "abcd"
    assert "4" in refused(d, "abcde")
    assert coerce_value(defn(AttributeType.TEXT), "x" * 5000) == "x" * 5000  # no maximum set


def test_it_stores_whole_numbers_as_integers():
    d = defn(AttributeType.NUMBER)
    assert coerce_value(d, "42") == 42
    assert coerce_value(d, 42) == 42
    assert coerce_value(d, "1,200") == 1200
    assert coerce_value(d, "3.0") == 3
    assert coerce_value(d, "-7") == -7
    assert isinstance(coerce_value(d, "42"), int)


@pytest.mark.parametrize("raw", ["3.5", 2.25, "abc", "1e", "NaN", "Infinity", True, False])
def test_it_refuses_what_is_not_a_whole_number(raw):
    refused(defn(AttributeType.NUMBER), raw)


def test_it_stores_decimals_exactly_as_strings():
    d = defn(AttributeType.DECIMAL)
    assert coerce_value(d, "1234.56") == "1234.56"
    assert coerce_value(d, Decimal("0.1")) == "0.1"
    assert coerce_value(d, "1,000.5") == "1000.5"
    assert coerce_value(d, 3) == "3"
    assert Decimal(coerce_value(d, "0.1")) + Decimal(coerce_value(d, "0.2")) == Decimal("0.3")


def test_it_writes_one_decimal_one_way():
    # equal amounts typed differently are stored alike, so equality filters find them
    d = defn(AttributeType.DECIMAL)
    assert coerce_value(d, "1.50") == coerce_value(d, "1.5") == coerce_value(d, 1.5) == "1.5"
    assert coerce_value(d, "1e3") == coerce_value(d, "1000") == coerce_value(d, "1000.00") == "1000"
    assert coerce_value(d, "-0") == coerce_value(d, "0.00") == "0"


@pytest.mark.parametrize("type_", [AttributeType.NUMBER, AttributeType.DECIMAL])
def test_it_enforces_minimum_and_maximum(type_):
    d = defn(type_, min_value=Decimal("1"), max_value=Decimal("100"))
    assert coerce_value(d, "1") in (1, "1")
    assert coerce_value(d, "100") in (100, "100")
    assert "1" in refused(d, "0")
    assert "100" in refused(d, "101")


def test_it_accepts_iso_dates_and_date_objects():
    d = defn(AttributeType.DATE)
    assert coerce_value(d, "2025-03-01") == "2025-03-01"
    assert coerce_value(d, " 2025-03-01 ") == "2025-03-01"
    assert coerce_value(d, dt.date(2025, 3, 1)) == "2025-03-01"
    assert coerce_value(d, dt.datetime(2025, 3, 1, 23, 59)) == "2025-03-01"


@pytest.mark.parametrize("raw", ["2025-02-30", "01/03/2025", "2025年3月1日", "tomorrow", 45717])
def test_it_refuses_what_is_not_a_date(raw):
    assert "YYYY-MM-DD" in refused(defn(AttributeType.DATE), raw)


@pytest.mark.parametrize("raw", [True, "true", "TRUE", "1", "yes", "Y", "是", "真", 1])
def test_it_reads_yes(raw):
    assert coerce_value(defn(AttributeType.BOOLEAN), raw) is True


@pytest.mark.parametrize("raw", [False, "false", "0", "no", "N", "否", "假", 0])
def test_it_reads_no(raw):
    assert coerce_value(defn(AttributeType.BOOLEAN), raw) is False


@pytest.mark.parametrize("raw", ["maybe", "对", "2"])
def test_it_refuses_what_is_not_yes_or_no(raw):
    refused(defn(AttributeType.BOOLEAN), raw)


def test_it_accepts_only_a_listed_choice():
    d = defn(AttributeType.CHOICE, choices=["国企", "民企", "外企"])
    assert coerce_value(d, " 国企 ") == "国企"
    message = refused(d, "央企")
    assert "央企" in message and "国企" in message


def test_it_reads_multiple_choices_from_a_list_or_a_semicolon_string():
    d = defn(AttributeType.MULTI_CHOICE, choices=["云", "云服务", "专线", "5G"])
    assert coerce_value(d, ["专线", "云"]) == ["云", "专线"]  # kept in the definition's order
    assert coerce_value(d, "5G;云服务") == ["云服务", "5G"]
    assert coerce_value(d, "5G；云服务; ") == ["云服务", "5G"]  # full-width semicolon, blanks dropped
    assert coerce_value(d, "云;云") == ["云"]  # duplicates once
    assert "物联网" in refused(d, "云;物联网")


# --- whole attribute dicts ----------------------------------------------------------------------

@pytest.fixture
def account_defs(db):
    make = AttributeDefinition.objects.create
    return [
        make(entity="account", key="employees", label_zh="员工数", label_en="Employees", type="number", min_value=0),
        make(entity="account", key="revenue", label_zh="年收入", label_en="Revenue", type="decimal"),
        make(entity="account", key="founded", label_zh="成立日期", label_en="Founded", type="date"),
        make(entity="account", key="listed", label_zh="上市", label_en="Listed", type="boolean"),
        make(entity="account", key="ownership", label_zh="性质", label_en="Ownership", type="choice",
             choices=["国企", "民企", "外企"], required=True),
        make(entity="account", key="products", label_zh="在用产品", label_en="Products", type="multi_choice",
             choices=["云", "云服务", "专线", "5G"]),
        make(entity="account", key="note", label_zh="备注", label_en="Note", type="text", max_length=20),
    ]


def errors_of(call) -> dict:
    with pytest.raises(ValidationError) as excinfo:
        call()
    return excinfo.value.message_dict


def test_it_cleans_a_whole_dict_and_drops_empty_values(account_defs):
    cleaned = clean_attributes("account", {"employees": "1,500", "revenue": "12.50", "founded": "1987-09-15",
                                           "listed": "是", "ownership": "民企", "products": "5G;云", "note": ""})
    assert cleaned == {"employees": 1500, "revenue": "12.5", "founded": "1987-09-15", "listed": True,
                       "ownership": "民企", "products": ["云", "5G"]}


def test_it_keys_each_error_by_attribute_and_reports_them_all(account_defs):
    errors = errors_of(lambda: clean_attributes("account", {"employees": "-1", "listed": "maybe", "colour": "red",
                                                            "note": "x" * 21}))
    assert set(errors) == {"attributes.employees", "attributes.listed", "attributes.colour", "attributes.note",
                           "attributes.ownership"}
    assert "colour" in errors["attributes.colour"][0]  # unknown key named
    assert errors["attributes.ownership"] == ["This attribute is required."]


def test_it_requires_required_attributes_with_a_value(account_defs):
    assert "attributes.ownership" in errors_of(lambda: clean_attributes("account", {}))
    assert "attributes.ownership" in errors_of(lambda: clean_attributes("account", {"ownership": " "}))
    assert "attributes.ownership" in errors_of(lambda: clean_attributes("account", None))


def test_it_scopes_definitions_to_the_entity(account_defs):
    # a contact has no attribute "ownership": neither required nor known
    assert clean_attributes("contact", {}) == {}
    assert "attributes.ownership" in errors_of(lambda: clean_attributes("contact", {"ownership": "国企"}))


def test_it_refuses_attributes_that_are_not_a_dict(account_defs):
    for bad in (["ownership", "国企"], "ownership=国企", 5):
        assert "attributes" in errors_of(lambda bad=bad: clean_attributes("account", bad))


def test_a_partial_update_keeps_the_stored_values(account_defs):
    stored = {"ownership": "国企", "employees": 10, "products": ["云"]}
    cleaned = clean_attributes("account", {"employees": "20"}, partial_base=stored)
    assert cleaned == {"ownership": "国企", "employees": 20, "products": ["云"]}
    assert stored == {"ownership": "国企", "employees": 10, "products": ["云"]}  # the base is not mutated


def test_a_partial_update_clears_a_value_sent_empty(account_defs):
    stored = {"ownership": "国企", "employees": 10}
    assert clean_attributes("account", {"employees": None}, partial_base=stored) == {"ownership": "国企"}
    assert "attributes.ownership" in errors_of(
        lambda: clean_attributes("account", {"ownership": ""}, partial_base=stored))


def test_a_partial_update_drops_stored_values_whose_definition_was_removed(account_defs):
    # an administrator deleted an attribute; records that still carry it must stay editable
    stored = {"ownership": "国企", "retired_key": "old"}
    assert clean_attributes("account", {"employees": 3}, partial_base=stored) == {"ownership": "国企", "employees": 3}
    # but sending an unknown key is still an error
    assert "attributes.retired_key" in errors_of(
        lambda: clean_attributes("account", {"retired_key": "x"}, partial_base=stored))


# --- filters, on the database the suite runs on -------------------------------------------------

@pytest.fixture
def attr_accounts(org, account_defs):
    def make(name, **attrs):
        return customer_services.account_create(name=name, region=org.east, owner=org.rep,
                                                attributes={"ownership": "国企", **attrs})

    return {
        "a": make("甲", employees=120, revenue="1.50", founded="2001-05-04", listed=True, ownership="民企",
                  products="云服务;5G"),
        "b": make("乙", employees=12, revenue="15", founded="2001-05-14", listed=False, products=["云"]),
        "c": make("丙", employees=1200, revenue="1.05", products=["云", "云服务", "专线"]),
        "d": make("丁"),  # only the required attribute
    }


def names(defn_key, raw):
    d = AttributeDefinition.objects.get(entity="account", key=defn_key)
    return set(Account.objects.filter(attribute_filter(d, raw)).values_list("name", flat=True)) - {"上海浦江制造有限公司",
                                                                                                   "成都天府物流集团"}


def test_it_filters_numbers_by_equality(attr_accounts):
    assert names("employees", "120") == {"甲"}
    assert names("employees", "1,200") == {"丙"}
    assert names("employees", "13") == set()


def test_it_filters_decimals_by_value_not_by_spelling(attr_accounts):
    assert names("revenue", "1.5") == {"甲"}
    assert names("revenue", "1.50") == {"甲"}
    assert names("revenue", "15.00") == {"乙"}
    assert names("revenue", "1.05") == {"丙"}


def test_it_filters_dates(attr_accounts):
    assert names("founded", "2001-05-04") == {"甲"}
    assert names("founded", "2001-05-14") == {"乙"}


def test_it_filters_booleans(attr_accounts):
    assert names("listed", "是") == {"甲"}
    assert names("listed", "false") == {"乙"}  # not the rows without a value


def test_it_filters_choices(attr_accounts):
    assert names("ownership", "民企") == {"甲"}
    assert names("ownership", "国企") == {"乙", "丙", "丁"}


def test_it_filters_multiple_choices_by_containment_of_every_value(attr_accounts):
    assert names("products", "云") == {"乙", "丙"}  # not 甲, whose "云服务" only starts with 云
    assert names("products", "云服务") == {"甲", "丙"}
    assert names("products", "云;专线") == {"丙"}
    assert names("products", "5G") == {"甲"}


def test_an_empty_filter_value_filters_nothing(attr_accounts):
    assert names("employees", "") == {"甲", "乙", "丙", "丁"}


def test_a_bad_filter_value_is_refused(attr_accounts):
    d = AttributeDefinition.objects.get(entity="account", key="employees")
    with pytest.raises(ValueError):
        attribute_filter(d, "many")


def test_it_filters_contacts_through_a_prefix(org, account_defs):
    # given an account attribute, filtered from the contact list via the account
    customer_services.account_update(account=org.acct, data={"attributes": {"ownership": "外企", "products": "专线"}})
    Contact.objects.create(account=org.acct, name="张伟")
    Contact.objects.create(account=org.other, name="李娜")
    d = AttributeDefinition.objects.get(entity="account", key="products")
    # when
    found = Contact.objects.filter(attribute_filter(d, "专线", prefix="account__"))
    # then
    assert list(found.values_list("name", flat=True)) == ["张伟"]


@pytest.mark.parametrize("raw", ["1e9999999", "-1e30", "1e-999999999", "100000000000000000000"])
def test_it_refuses_numbers_out_of_range_at_once(raw):
    # int() of 1e9999999 would hold the worker for minutes; the engine refuses it first
    for type_ in (AttributeType.NUMBER, AttributeType.DECIMAL):
        assert "out of range" in refused(defn(type_), raw)
    assert coerce_value(defn(AttributeType.NUMBER), "99999999999999999999") == 99999999999999999999

"""What the files hold: a BOM, Chinese text, typed cells, custom attributes, no runnable formulas."""
import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.http import QueryDict
from django.utils import timezone, translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from kamcrm.core import attribute_services
from kamcrm.customers import services as customer_services
from kamcrm.customers.choices import Tier
from kamcrm.exchange.export import (
    csv_cell,
    csv_row_formatter,
    export_entity_get,
    export_prepare,
    neutralise,
)
from kamcrm.exchange.tests.helpers import BOM, body, csv_dicts, csv_rows, xlsx_sheet

DANGEROUS = ["=cmd|' /C calc'!A0", "+1", "-1+1", "@SUM(A1:A2)", "\tTAB", "\rCR",
             "＝1+1", "＋1", "－1+1", "＠SUM(A1)"]


@pytest.fixture
def attributes(db):
    make = attribute_services.attribute_definition_create
    make(entity="account", key="employees", label_zh="员工人数", label_en="Employees", type="number")
    make(entity="account", key="revenue", label_zh="年收入", label_en="Annual revenue", type="decimal")
    make(entity="account", key="founded", label_zh="成立日期", label_en="Founded", type="date")
    make(entity="account", key="listed", label_zh="是否上市", label_en="Listed", type="boolean")
    make(entity="account", key="lines", label_zh="业务线", label_en="Lines", type="multi_choice",
         choices=["云", "网络", "=evil"])


@pytest.mark.parametrize("text", DANGEROUS)
def test_it_prefixes_formula_text_with_an_apostrophe(text):
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("text", ["plain", "1+1", "中文=1", " =1", "'=1", ""])
def test_it_leaves_other_text_alone(text):
    assert neutralise(text) == text


def test_it_neutralises_formulas_in_csv_and_xlsx(org, client_for):
    # given
    for i, text in enumerate(DANGEROUS):
        customer_services.account_create(name=f"危险{i:02d}", region=org.east, owner=org.rep,
                                         description=text, address=text)
    client = client_for(org.rep)
    # when
    rows = [r for r in csv_dicts(client.get("/exchange/export/accounts.csv?q=危险")) if r]
    sheet = xlsx_sheet(client.get("/exchange/export/accounts.xlsx?q=危险"))
    # then
    assert [r["Description"] for r in rows] == ["'" + t for t in DANGEROUS]
    header = [c.value for c in sheet[1]]
    col = header.index("Description")
    cells = [row[col] for row in sheet.iter_rows(min_row=2)]
    # (XML turns a stored CR into LF when the file is read back; the apostrophe is what matters)
    assert [c.value for c in cells] == ["'" + t.replace("\r", "\n") for t in DANGEROUS]
    assert all(c.data_type == "s" for c in cells)  # stored as text, never as a formula


def test_the_csv_starts_with_a_bom_and_keeps_chinese_text(org, client_for):
    # when
    response = client_for(org.rep).get("/exchange/export/accounts.csv")
    # then
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="accounts-')
    raw = body(client_for(org.rep).get("/exchange/export/accounts.csv"))
    assert raw.startswith(BOM)
    header, row = csv_rows(client_for(org.rep).get("/exchange/export/accounts.csv"))
    record = dict(zip(header, row, strict=True))
    assert record["Name"] == "上海浦江制造有限公司"
    assert record["Short name"] == "浦江制造"
    assert record["Region"] == "华东分公司"
    assert record["Tier"] == "key account"


def test_it_labels_columns_in_the_current_language(org, client_for, attributes):
    # when
    client = client_for(org.rep)
    header = csv_rows(client.get("/exchange/export/accounts.csv", HTTP_ACCEPT_LANGUAGE="zh-hans"))[0]
    english = csv_rows(client.get("/exchange/export/accounts.csv", HTTP_ACCEPT_LANGUAGE="en"))[0]
    # then
    assert "员工人数" in header and "业务线" in header
    assert "Employees" in english and "Annual revenue" in english


def test_the_xlsx_opens_with_typed_cells(org, client_for, attributes):
    # given
    customer_services.account_update(account=org.acct, data={"attributes": {
        "employees": -5, "revenue": "1234.50", "founded": "2001-02-03", "listed": True, "lines": ["云", "=evil"]}})
    # when
    sheet = xlsx_sheet(client_for(org.rep).get("/exchange/export/accounts.xlsx"))
    # then
    header = [c.value for c in sheet[1]]
    row = {h: c for h, c in zip(header, sheet[2], strict=True)}
    assert row["ID"].value == org.acct.pk and row["ID"].data_type == "n"
    assert row["Name"].value == "上海浦江制造有限公司"
    assert row["Employees"].value == -5 and row["Employees"].data_type == "n"  # numbers stay numbers
    assert Decimal(str(row["Annual revenue"].value)) == Decimal("1234.5")
    assert row["Founded"].is_date and row["Founded"].value.date() == dt.date(2001, 2, 3)
    assert row["Listed"].value is True and row["Listed"].data_type == "b"
    assert row["Lines"].value == "云; =evil"  # a text cell that does not start with a formula character
    assert row["Created at"].is_date and isinstance(row["Created at"].value, dt.datetime)


def test_the_csv_writes_typed_values_as_text(org, client_for, attributes):
    # given
    customer_services.account_update(account=org.acct, data={"attributes": {
        "employees": -5, "revenue": "1234.50", "founded": "2001-02-03", "listed": False, "lines": ["=evil"]}})
    # when
    row = csv_dicts(client_for(org.rep).get("/exchange/export/accounts.csv"))[0]
    # then
    assert row["Employees"] == "-5"
    assert row["Annual revenue"] == "1234.5"
    assert row["Founded"] == "2001-02-03"
    assert row["Listed"] == "no"
    assert row["Lines"] == "'=evil"
    assert dt.datetime.fromisoformat(row["Created at"])  # local time, "YYYY-MM-DD HH:MM:SS"


def test_it_drops_characters_an_xlsx_file_cannot_hold(org, client_for):
    # given
    customer_services.account_update(account=org.acct, data={"description": "a\x1bb\x07c\nd"})
    # when
    sheet = xlsx_sheet(client_for(org.rep).get("/exchange/export/accounts.xlsx"))
    # then
    header = [c.value for c in sheet[1]]
    assert sheet[2][header.index("Description")].value == "abc\nd"


def test_it_exports_contacts_with_their_account(org, client_for):
    # given
    customer_services.contact_create(account=org.acct, name="张伟", mobile="13800000000", decision_role="decision_maker",
                                     birthday=dt.date(1980, 5, 6), is_primary=True)
    # when
    row = csv_dicts(client_for(org.rep).get("/exchange/export/contacts.csv"))[0]
    sheet = xlsx_sheet(client_for(org.rep).get("/exchange/export/contacts.xlsx"))
    # then
    assert row["Name"] == "张伟"
    assert row["Account"] == "上海浦江制造有限公司"
    assert row["Decision role"] == "decision maker"
    assert row["Birthday"] == "1980-05-06"
    assert row["Primary contact"] == "yes"
    header = [c.value for c in sheet[1]]
    assert sheet[2][header.index("Birthday")].is_date
    assert sheet[2][header.index("Primary contact")].value is True


# csv_row_formatter is csv_cell made fast for a whole export; it must write exactly the same text.
TRICKY = [
    None, "", "plain", "中文=1", "上海浦江制造有限公司", " =1", "'=1", *DANGEROUS, True, False, 0, -5, 2**70,
    Decimal("1234.50"), Decimal("-0.00"), Decimal("1E+3"), 1.5, -0.0, dt.date(2001, 2, 3), dt.date(999, 1, 1),
    dt.datetime(2026, 3, 8, 6, 59, 59, 999999, tzinfo=dt.UTC), dt.datetime(2026, 3, 8, 7, 0, 1, tzinfo=dt.UTC),
    dt.datetime(2026, 11, 1, 5, 30, tzinfo=dt.UTC), dt.datetime(2026, 11, 1, 6, 30, tzinfo=dt.UTC),
    dt.datetime(2026, 1, 2, 3, 4, 5, 6), dt.datetime(999, 1, 1, 0, 0, 0, 1, tzinfo=dt.UTC),
    gettext_lazy("yes"), Tier.KEY, mark_safe("=safe"), ["list"],
]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("zone", ["Asia/Shanghai", "America/New_York"])  # the second with its DST changes
def test_the_fast_csv_formatter_writes_what_csv_cell_writes(language, zone):
    with translation.override(language), timezone.override(zone):
        # when
        fast = csv_row_formatter()(TRICKY)
        # then
        assert fast == [csv_cell(v) for v in TRICKY]
        assert all(type(cell) is str for cell in fast)


def test_an_exported_csv_is_what_csv_cell_makes_of_each_value(org, client_for, attributes):
    # given: accounts with formula-like, Chinese, empty and typed values, read back in Chinese
    customer_services.account_update(account=org.acct, data={"description": "=1+1", "attributes": {
        "employees": -5, "revenue": "1234.50", "founded": "2001-02-03", "listed": False, "lines": ["云", "=evil"]}})
    customer_services.account_create(name="－负数公司", region=org.east, owner=org.rep, parent=org.acct,
                                     address="＠上海", tier="strategic", attributes={"listed": True})
    client = client_for(org.rep)
    # when
    raw = body(client.get("/exchange/export/accounts.csv", HTTP_ACCEPT_LANGUAGE="zh-hans"))
    # then: the same bytes as the rows written cell by cell with csv_cell
    with translation.override("zh-hans"):
        prepared = export_prepare(entity=export_entity_get("accounts"), user=org.rep, query=QueryDict(""))
        expected = io.StringIO()
        writer = csv.writer(expected)
        writer.writerow([neutralise(h) for h in prepared.headers])
        fields = list(dict.fromkeys(f for c in prepared.columns for f in c.fields))
        writer.writerows([csv_cell(c.read(row)) for c in prepared.columns] for row in prepared.queryset.values(*fields))
    assert raw == BOM + expected.getvalue().encode("utf-8")
    assert "'=1+1" in raw.decode("utf-8") and "是否上市" in raw.decode("utf-8")

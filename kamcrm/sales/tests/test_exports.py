"""The opportunity export: the rows each persona may see, narrowed by the list's filters, with the
agreed columns (weighted amount computed, stage in the current language)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from kamcrm.exchange.models import ExportLog
from kamcrm.exchange.tests.helpers import csv_dicts, ids_in_csv, xlsx_sheet
from kamcrm.org.tests.test_visibility import ROLE_MATRIX
from kamcrm.sales import services

pytestmark = pytest.mark.django_db

URL = "/exchange/export/opportunities.csv"


def persona(org, name):
    return getattr(org, "exec_" if name == "exec" else name)


@pytest.fixture
def deals(org):
    mine = services.opportunity_create(by=org.rep, account=org.acct, name="园区 5G 专网", owner=org.rep,
                                       amount=Decimal("100000"), expected_close_date=dt.date(2026, 12, 31),
                                       source="referral", source_system="erp", external_id="O-1")
    theirs = services.opportunity_create(by=org.outsider, account=org.other, name="=物流园 IDC", owner=org.outsider,
                                         amount=Decimal("50000"))
    return mine, theirs


@pytest.mark.parametrize("name", ROLE_MATRIX)
def test_it_exports_exactly_the_opportunities_each_role_may_see(org, client_for, deals, name):
    sees_acct, sees_other = ROLE_MATRIX[name][:2]
    expected = {pk for pk, seen in ((deals[0].pk, sees_acct), (deals[1].pk, sees_other)) if seen}
    response = client_for(persona(org, name)).get(URL)
    assert response.status_code == 200
    assert ids_in_csv(response) == expected


def test_it_has_the_agreed_columns_and_values(org, client_for, deals):
    response = client_for(org.rep).get(URL)
    rows = csv_dicts(response)
    assert list(rows[0])[:14] == ["ID", "Name", "Account", "Stage", "Amount", "Currency", "Probability (%)",
                                  "Weighted amount", "Expected close date", "Owner", "Owner (username)", "Source",
                                  "Source system", "External id"]
    row = rows[0]
    assert (row["Name"], row["Account"], row["Stage"]) == ("园区 5G 专网", "上海浦江制造有限公司", "Opportunity obtained")
    assert (row["Amount"], row["Probability (%)"], row["Weighted amount"]) == ("100000.00", "5", "5000.00")
    assert (row["Expected close date"], row["Owner"], row["Source"]) == ("2026-12-31", "rep", "referral")
    assert (row["Source system"], row["External id"]) == ("erp", "O-1")
    assert ExportLog.objects.filter(entity="opportunities", row_count=1).exists()


def test_it_applies_the_list_filters_and_refuses_a_bad_one(org, client_for, deals):
    client = client_for(org.admin)
    assert ids_in_csv(client.get(URL, {"owner_unit": org.west.pk})) == {deals[1].pk}
    assert ids_in_csv(client.get(URL, {"q": "园区"})) == {deals[0].pk}
    assert client.get(URL, {"close_from": "nope"}).status_code == 400
    assert client.get(URL, {"sort": "bogus"}).status_code == 400


def test_the_api_export_neutralises_formulas_and_keeps_visibility(org, api_for, deals):
    response = api_for(org.outsider).get("/api/v1/exports/opportunities.xlsx")
    assert response.status_code == 200
    rows = list(xlsx_sheet(response).iter_rows(min_row=2, values_only=True))
    assert [row[1] for row in rows] == ["'=物流园 IDC"]


def test_the_stage_is_exported_in_chinese_for_chinese_users(org, client_for, deals):
    client = client_for(org.rep)
    response = client.get(URL, HTTP_ACCEPT_LANGUAGE="zh-hans")
    rows = csv_dicts(response)
    assert rows[0][list(rows[0])[3]] == "获得商机"

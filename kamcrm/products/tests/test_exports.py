"""The product export: the list's filters and sorts, the agreed columns, for any signed-in user."""
from __future__ import annotations

from decimal import Decimal

import pytest

from kamcrm.exchange.tests.helpers import csv_dicts
from kamcrm.products import services

pytestmark = pytest.mark.django_db

URL = "/exchange/export/products.csv"


@pytest.fixture
def catalogue(db):
    five_g = services.product_line_create(code="5G", name="5G 专网")
    idc = services.product_line_create(code="IDC", name="数据中心")
    services.product_create(line=five_g, code="5G-PN", name="5G 专网套餐", list_price=Decimal("12000"), unit="套")
    services.product_create(line=idc, code="IDC-R", name="+标准机柜", list_price=Decimal("8800"), status="retiring")
    return five_g, idc


@pytest.mark.parametrize("name", ["rep", "outsider", "partner", "admin"])
def test_every_signed_in_user_exports_the_catalogue(org, client_for, catalogue, name):
    rows = csv_dicts(client_for(getattr(org, name)).get(URL))
    assert [r["Code"] for r in rows] == ["5G-PN", "IDC-R"]


def test_it_has_the_columns_and_applies_the_filters(org, client_for, catalogue):
    client = client_for(org.rep)
    rows = csv_dicts(client.get(URL, {"line": catalogue[0].pk}))
    assert len(rows) == 1
    row = rows[0]
    assert (row["Name"], row["Product line"], row["Product line code"], row["Unit"], row["List price"],
            row["Status"]) == ("5G 专网套餐", "5G 专网", "5G", "套", "12000.00", "on sale")
    rows = csv_dicts(client.get(URL, {"status": "retiring"}))
    assert [r["Name"] for r in rows] == ["'+标准机柜"]  # formula-neutralised
    assert [r["Code"] for r in csv_dicts(client.get(URL, {"sort": "name"}))] == ["IDC-R", "5G-PN"]
    assert client.get(URL, {"line": 999999}).status_code == 400


def test_anonymous_users_are_sent_to_log_in(client, catalogue):
    response = client.get(URL)
    assert response.status_code == 302 and "login" in response["Location"]

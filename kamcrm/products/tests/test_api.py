"""Product lines, products and the product plan through the API: everyone reads, only catalogue
maintainers write (others 403, nothing changes), filters and keyset sorts, upserts by external id
and by (year, line, region), and query counts that do not grow with the page."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kamcrm.org.tests.test_visibility import ROLE_MATRIX
from kamcrm.products import services
from kamcrm.products.models import Product, ProductLine, ProductPlan

pytestmark = pytest.mark.django_db

MAINTAINERS = {"admin", "bizmgmt"}


def persona(org, name):
    return getattr(org, "exec_" if name == "exec" else name)


@pytest.fixture
def catalogue(db):
    five_g = services.product_line_create(code="5G", name="5G 专网")
    idc = services.product_line_create(code="IDC", name="数据中心")
    pn = services.product_create(line=five_g, code="5G-PN", name="5G 专网套餐", list_price=Decimal("12000"))
    rack = services.product_create(line=idc, code="IDC-R", name="标准机柜", list_price=Decimal("8800"), status="retiring")
    return five_g, idc, pn, rack


def codes(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["code"] for row in response.json()["results"]]


@pytest.mark.parametrize("name", ROLE_MATRIX)
def test_everyone_reads_only_maintainers_write(org, api_for, catalogue, name):
    api = api_for(persona(org, name))
    five_g, _idc, pn, _rack = catalogue
    assert codes(api.get("/api/v1/products/")) == ["5G-PN", "IDC-R"]
    assert codes(api.get("/api/v1/product-lines/")) == ["5G", "IDC"]
    assert api.get(f"/api/v1/products/{pn.pk}/").status_code == 200
    may = name in MAINTAINERS
    expected = 201 if may else 403
    response = api.post("/api/v1/products/", {"line": five_g.pk, "code": f"N-{name}", "name": "新产品"}, format="json")
    assert response.status_code == expected, response.content
    assert api.post("/api/v1/product-lines/", {"code": f"L-{name}", "name": "新线"},
                    format="json").status_code == expected
    assert api.patch(f"/api/v1/products/{pn.pk}/", {"name": f"改-{name}"},
                     format="json").status_code == (200 if may else 403)
    assert api.post("/api/v1/product-plans/", {"year": 2027, "line": five_g.pk, "region": org.east.pk,
                                               "priority": "focus"}, format="json").status_code == expected
    assert Product.objects.filter(code=f"N-{name}").exists() == may
    assert ProductLine.objects.filter(code=f"L-{name}").exists() == may
    assert ProductPlan.objects.exists() == may


def test_filters_and_sorts(org, api_for, catalogue):
    five_g = catalogue[0]
    api = api_for(org.rep)
    assert codes(api.get("/api/v1/products/", {"line": five_g.pk})) == ["5G-PN"]
    assert codes(api.get("/api/v1/products/", {"status": "retiring"})) == ["IDC-R"]
    assert codes(api.get("/api/v1/products/", {"q": "机柜"})) == ["IDC-R"]
    assert codes(api.get("/api/v1/products/", {"sort": "name"})) == ["5G-PN", "IDC-R"]
    page = api.get("/api/v1/products/", {"page_size": 1}).json()
    assert [r["code"] for r in api.get(page["next"]).json()["results"]] == ["IDC-R"]
    response = api.get("/api/v1/products/", {"status": "bogus"})
    assert response.status_code == 400 and list(response.json()["errors"]) == ["status"]


def test_validation_errors_name_the_field(org, api_for, catalogue):
    api = api_for(org.admin)
    response = api.post("/api/v1/products/", {"line": catalogue[0].pk, "code": "5G-PN", "name": "重复"}, format="json")
    assert response.status_code == 400 and list(response.json()["errors"]) == ["code"]
    response = api.post("/api/v1/products/", {"code": "X", "name": "无产品线"}, format="json")
    assert response.status_code == 400 and list(response.json()["errors"]) == ["line"]
    response = api.post("/api/v1/products/", {"line_code": "NOPE", "code": "X", "name": "x"}, format="json")
    assert response.status_code == 400 and list(response.json()["errors"]) == ["line_code"]
    response = api.post("/api/v1/products/", {"line": catalogue[0].pk, "code": "X", "name": "x", "list_price": "-1"},
                        format="json")
    assert response.status_code == 400 and list(response.json()["errors"]) == ["list_price"]


def test_upserts_by_external_id(org, api_for):
    api = api_for(org.bizmgmt)
    first = api.put("/api/v1/product-lines/by-external-id/erp/L1/", {"code": "CLOUD", "name": "云"}, format="json")
    assert first.status_code == 201, first.content
    assert api.put("/api/v1/product-lines/by-external-id/erp/L1/", {"name": "云计算"}, format="json").status_code == 200
    body = {"line_code": "CLOUD", "code": "ECS", "name": "云主机", "list_price": "300"}
    assert api.put("/api/v1/products/by-external-id/erp/P1/", body, format="json").status_code == 201
    again = api.put("/api/v1/products/by-external-id/erp/P1/", {**body, "list_price": "280"}, format="json")
    assert again.status_code == 200
    assert Product.objects.get(external_id="P1").list_price == Decimal("280.00")
    assert ProductLine.objects.get(external_id="L1").name == "云计算"
    assert api_for(org.rep).put("/api/v1/products/by-external-id/erp/P1/", body, format="json").status_code == 403
    assert api_for(org.rep).get("/api/v1/products/by-external-id/erp/P1/").json()["code"] == "ECS"


def test_a_plan_entry_is_upserted_by_year_line_and_region(org, api_for, catalogue):
    api = api_for(org.admin)
    body = {"year": 2027, "line_code": "5G", "region_code": "EAST", "priority": "focus", "target_amount": "1000000"}
    first = api.post("/api/v1/product-plans/", body, format="json")
    assert first.status_code == 201, first.content
    second = api.post("/api/v1/product-plans/", {**body, "priority": "grow"}, format="json")
    assert second.status_code == 200 and second.json()["id"] == first.json()["id"]
    plan_id = first.json()["id"]
    assert api.patch(f"/api/v1/product-plans/{plan_id}/", {"target_amount": "2000000"}, format="json"
                     ).status_code == 200
    response = api.patch(f"/api/v1/product-plans/{plan_id}/", {"year": 2028}, format="json")
    assert response.status_code == 400 and list(response.json()["errors"]) == ["year"]
    plan = ProductPlan.objects.get()
    assert (plan.priority, plan.target_amount, plan.year) == ("grow", Decimal("2000000.00"), 2027)
    rows = api_for(org.rep).get("/api/v1/product-plans/", {"year": 2027, "region": org.east.pk}).json()["results"]
    assert [r["line"]["code"] for r in rows] == ["5G"]


def test_query_counts_do_not_grow_with_the_page(org, api_for, catalogue):
    api = api_for(org.rep)
    urls = ["/api/v1/products/", "/api/v1/product-lines/", "/api/v1/product-plans/"]

    def counts() -> dict[str, int]:
        out = {}
        for url in urls:
            with CaptureQueriesContext(connection) as ctx:
                assert api.get(url).status_code == 200
            out[url] = len(ctx.captured_queries)
        return out

    services.product_plan_set(year=2027, line=catalogue[0], region=org.east, priority="focus")
    small = counts()
    for i in range(15):
        line = services.product_line_create(code=f"L{i:02d}", name=f"产品线{i}")
        services.product_create(line=line, code=f"P{i:02d}", name=f"产品{i}")
        services.product_plan_set(year=2027, line=line, region=org.west, priority="grow")
    assert counts() == small

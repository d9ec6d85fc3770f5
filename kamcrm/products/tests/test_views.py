"""Products UI: everyone signed in reads the catalogue and the plan; only administrators and
business management get the forms; refused posts change nothing; the list filters, pages by keyset,
counts boundedly and shows an empty state; the plan grid saves cells and shows errors on them."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kamcrm.org.tests.test_visibility import ROLE_MATRIX
from kamcrm.products import services
from kamcrm.products import views as product_views
from kamcrm.products.models import Product, ProductLine, ProductPlan

pytestmark = pytest.mark.django_db

MAINTAINERS = {"admin", "bizmgmt"}


@pytest.fixture(autouse=True)
def _plain_http(settings):
    settings.SECURE_SSL_REDIRECT = False


def persona(org, name):
    return getattr(org, "exec_" if name == "exec" else name)


@pytest.fixture
def catalogue(db):
    five_g = services.product_line_create(code="5G", name="5G 专网")
    idc = services.product_line_create(code="IDC", name="数据中心")
    pn = services.product_create(line=five_g, code="5G-PN", name="5G 专网套餐", list_price=Decimal("12000"), unit="套")
    rack = services.product_create(line=idc, code="IDC-R", name="标准机柜", list_price=Decimal("8800"), status="retiring")
    return five_g, idc, pn, rack


def state():
    return (list(ProductLine.objects.order_by("pk").values()), list(Product.objects.order_by("pk").values()),
            list(ProductPlan.objects.order_by("pk").values()))


@pytest.mark.parametrize("name", ROLE_MATRIX)
def test_everyone_reads_only_maintainers_get_the_forms(org, client_for, catalogue, name):
    client = client_for(persona(org, name))
    pn = catalogue[2]
    # reading
    page = client.get(reverse("products:product_list"))
    assert page.status_code == 200
    assert "5G 专网套餐" in page.content.decode()
    assert client.get(reverse("products:product", args=[pn.pk])).status_code == 200
    assert client.get(reverse("products:line_list")).status_code == 200
    assert client.get(reverse("products:plan", args=[2027])).status_code == 200
    # the buttons and forms
    may = name in MAINTAINERS
    assert ('data-testid="product-add"' in page.content.decode()) == may
    for url in (reverse("products:product_add"), reverse("products:product_edit", args=[pn.pk]),
                reverse("products:line_add"), reverse("products:line_edit", args=[pn.line_id])):
        assert client.get(url).status_code == (200 if may else 403)


@pytest.mark.parametrize("name", ["rep", "manager", "exec", "dept_head"])
def test_a_refused_post_changes_nothing(org, client_for, catalogue, name):
    client = client_for(persona(org, name))
    before = state()
    five_g, _idc, pn, _rack = catalogue
    posts = [
        (reverse("products:product_add"), {"line": five_g.pk, "code": "X", "name": "X", "list_price": "1",
                                           "currency": "CNY", "status": "active"}),
        (reverse("products:product_edit", args=[pn.pk]), {"line": five_g.pk, "code": "5G-PN", "name": "改名",
                                                          "list_price": "1", "currency": "CNY", "status": "active"}),
        (reverse("products:line_add"), {"code": "NEW", "name": "新产品线", "is_active": "on"}),
        (reverse("products:plan", args=[2027]), {f"p_{five_g.pk}_{org.east.pk}": "focus"}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403
    assert state() == before


def test_business_management_creates_and_edits_a_product(org, client_for, catalogue):
    five_g = catalogue[0]
    client = client_for(org.bizmgmt)
    response = client.post(reverse("products:product_add"), {
        "line": five_g.pk, "code": "5G-SLICE", "name": "5G 切片", "unit": "条/月", "list_price": "3000.00",
        "currency": "cny", "status": "planned", "launched_on": "2027-01-01", "end_of_sale_on": ""})
    product = Product.objects.get(code="5G-SLICE")
    assert response.status_code == 302 and response["Location"] == reverse("products:product", args=[product.pk])
    assert (product.currency, product.status, product.list_price) == ("CNY", "planned", Decimal("3000.00"))
    response = client.post(reverse("products:product_edit", args=[product.pk]), {
        "line": five_g.pk, "code": "5G-SLICE", "name": "5G 网络切片", "list_price": "2800", "currency": "CNY",
        "status": "active"})
    assert response.status_code == 302
    product.refresh_from_db()
    assert (product.name, product.list_price) == ("5G 网络切片", Decimal("2800.00"))


def test_the_product_form_shows_service_errors_on_their_fields(org, client_for, catalogue):
    five_g = catalogue[0]
    client = client_for(org.admin)
    before = state()
    response = client.post(reverse("products:product_add"), {
        "line": five_g.pk, "code": "5G-PN", "name": "重复编码", "list_price": "1", "currency": "CNY",
        "status": "active", "launched_on": "2027-06-01", "end_of_sale_on": "2027-01-01"})
    assert response.status_code == 400
    form = response.context["form"]
    assert "code" in form.errors
    assert state() == before


def test_a_product_line_is_created_and_edited(org, client_for):
    client = client_for(org.admin)
    assert client.post(reverse("products:line_add"), {"code": "CLOUD", "name": "云计算", "is_active": "on"}
                       ).status_code == 302
    line = ProductLine.objects.get(code="CLOUD")
    assert client.post(reverse("products:line_edit", args=[line.pk]), {"code": "CLOUD", "name": "云"}
                       ).status_code == 302
    line.refresh_from_db()
    assert (line.name, line.is_active) == ("云", False)
    response = client.post(reverse("products:line_add"), {"code": "CLOUD", "name": "重复"})
    assert response.status_code == 400 and "code" in response.context["form"].errors


# ---- the list ---------------------------------------------------------------------------------------

def names(response) -> list[str]:
    assert response.status_code == 200
    return [p.name for p in response.context["page"].items]


def test_the_list_filters_by_line_status_and_search(org, client_for, catalogue):
    five_g, idc, _pn, _rack = catalogue
    client = client_for(org.rep)
    url = reverse("products:product_list")
    assert names(client.get(url, {"line": five_g.pk})) == ["5G 专网套餐"]
    assert names(client.get(url, {"status": "retiring"})) == ["标准机柜"]
    assert names(client.get(url, {"q": "机柜"})) == ["标准机柜"]
    assert names(client.get(url, {"q": "5g-"})) == ["5G 专网套餐"]
    assert names(client.get(url, {"sort": "name"})) == ["5G 专网套餐", "标准机柜"]
    response = client.get(url, {"line": 999999})
    assert response.status_code == 400 and "line" in response.context["form"].errors
    response = client.get(url, {"sort": "bogus"})
    assert response.status_code == 400


def test_the_list_pages_by_keyset_with_a_bounded_count(org, client_for, catalogue, monkeypatch):
    monkeypatch.setattr(product_views, "PAGE_SIZE", 1)
    client = client_for(org.rep)
    url = reverse("products:product_list")
    first = client.get(url)
    assert names(first) == ["5G 专网套餐"] and first.context["count_label"] == "2"
    second = client.get(url, {"cursor": first.context["page"].next_cursor})
    assert names(second) == ["标准机柜"] and second.context["page"].next_cursor is None
    monkeypatch.setattr("kamcrm.products.views.bounded_count", lambda qs: (1, True))
    assert client.get(url).context["count_label"] == "1+"


def test_the_list_shows_an_empty_state(org, client_for):
    page = client_for(org.rep).get(reverse("products:product_list")).content.decode()
    assert 'data-testid="empty"' in page and "No products yet." in page
    page = client_for(org.admin).get(reverse("products:product_list"), {"q": "无"}).content.decode()
    assert "No product matches these filters." in page


def test_the_list_query_count_does_not_grow_with_the_page(org, client_for, catalogue):
    client = client_for(org.rep)
    url = reverse("products:product_list")

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    small = count()
    for i in range(20):
        services.product_create(line=catalogue[i % 2], code=f"P{i:02d}", name=f"产品{i:02d}")
    assert count() == small


# ---- the plan grid --------------------------------------------------------------------------------

def test_the_plan_grid_saves_cells_for_a_maintainer(org, client_for, catalogue):
    five_g, idc, _pn, _rack = catalogue
    client = client_for(org.bizmgmt)
    url = reverse("products:plan", args=[2027])
    page = client.get(url)
    assert page.status_code == 200
    assert f'data-testid="priority-{five_g.pk}_{org.east.pk}"' in page.content.decode()
    response = client.post(url, {f"p_{five_g.pk}_{org.east.pk}": "focus", f"t_{five_g.pk}_{org.east.pk}": "5000000",
                                 f"p_{idc.pk}_{org.west.pk}": "maintain"})
    assert response.status_code == 302
    plans = {(p.line_id, p.region_id): (p.priority, p.target_amount) for p in ProductPlan.objects.filter(year=2027)}
    assert plans == {(five_g.pk, org.east.pk): ("focus", Decimal("5000000.00")),
                     (idc.pk, org.west.pk): ("maintain", None)}
    # a rep reads the same plan without inputs
    page = client_for(org.rep).get(url).content.decode()
    cell = page.split(f'data-testid="cell-{five_g.pk}-{org.east.pk}"')[1].split("</td>")[0]
    assert "bg-red-lt" in cell and "focus" in cell and "5,000,000" in cell
    assert f'name="p_{five_g.pk}_{org.east.pk}"' not in page
    # clearing a cell takes it out of the plan; other years are untouched
    client = client_for(org.bizmgmt)
    assert client.post(url, {f"p_{idc.pk}_{org.west.pk}": "maintain"}).status_code == 302
    assert set(ProductPlan.objects.filter(year=2027).values_list("line_id", flat=True)) == {idc.pk}
    assert not ProductPlan.objects.filter(year=2026).exists()


def test_the_plan_grid_shows_errors_on_the_cell_and_saves_nothing(org, client_for, catalogue):
    five_g = catalogue[0]
    client = client_for(org.admin)
    url = reverse("products:plan", args=[2027])
    response = client.post(url, {f"p_{five_g.pk}_{org.east.pk}": "grow", f"t_{five_g.pk}_{org.west.pk}": "-5",
                                 f"p_{five_g.pk}_{org.west.pk}": "grow"})
    assert response.status_code == 400
    assert f"t_{five_g.pk}_{org.west.pk}" in response.context["form"].errors
    assert not ProductPlan.objects.exists()


def test_the_plan_for_a_year_out_of_range_is_404_and_plan_redirects_to_this_year(org, client_for):
    client = client_for(org.rep)
    assert client.get("/products/plan/1999/").status_code == 404
    response = client.get(reverse("products:plan_current"))
    assert response.status_code == 302 and response["Location"].startswith("/products/plan/")


def test_the_plan_grid_query_count_does_not_grow_with_lines(org, client_for, catalogue):
    client = client_for(org.admin)
    url = reverse("products:plan", args=[2027])

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    services.product_plan_set(year=2027, line=catalogue[0], region=org.east, priority="focus")
    small = count()
    for i in range(10):
        line = services.product_line_create(code=f"L{i}", name=f"产品线{i}")
        services.product_plan_set(year=2027, line=line, region=org.west, priority="grow")
    assert count() == small

"""The product catalogue and plan in a real browser (Debian's chromium through Playwright): business
management adds a product, then sets a cell of the plan grid; no console errors (strict CSP)."""
import re
from decimal import Decimal

import pytest

from kamcrm.core.tests.browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_business_management_adds_a_product_and_plans_it(org, live_server, browser):
    from kamcrm.products import services
    from kamcrm.products.models import Product, ProductPlan

    line = services.product_line_create(code="5G", name="5G 专网")
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    try:
        sign_in(page, live_server, "bizmgmt", "en")

        # given: the empty product list offers to add one
        page.goto(f"{live_server.url}/products/")
        page.get_by_test_id("empty").wait_for()
        page.get_by_test_id("product-add").click()
        page.wait_for_url(re.compile(r"/products/add/$"))
        # when: the form is filled in and saved
        page.select_option("#id_line", str(line.pk))
        page.fill("#id_code", "5G-PN")
        page.fill("#id_name", "5G 专网套餐")
        page.fill("#id_list_price", "12000")
        page.get_by_test_id("save").click()
        # then: its page shows it
        page.wait_for_url(re.compile(r"/products/\d+/$"))
        assert "5G-PN" in page.get_by_test_id("product-profile").inner_text()
        assert "5G 专网套餐" in page.title()
        assert Product.objects.get(code="5G-PN").list_price == Decimal("12000.00")

        # when: the plan grid of 2027 gets a focus cell with a target
        page.goto(f"{live_server.url}/products/plan/2027/")
        key = f"{line.pk}_{org.east.pk}"
        page.get_by_test_id(f"priority-{key}").select_option("focus")
        page.get_by_test_id(f"target-{key}").fill("3000000")
        page.get_by_test_id("save").click()
        page.wait_for_url(re.compile(r"/products/plan/2027/$"))
        # then: it is saved and shown again
        page.get_by_test_id("plan-grid").wait_for()
        assert page.get_by_test_id(f"priority-{key}").input_value() == "focus"
        plan = ProductPlan.objects.get(year=2027)
        assert (plan.priority, plan.target_amount) == ("focus", Decimal("3000000.00"))
        assert not [e for e in errors if "Content Security Policy" in e], errors
    finally:
        context.close()

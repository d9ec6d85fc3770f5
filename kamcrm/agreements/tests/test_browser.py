"""Agreements end to end in a real browser (Debian's chromium through Playwright), in zh-Hans and English:
from the account 360 page create a draft agreement with a line, sign it, see its 12-month revenue
schedule, amend it from 1 June with a new value, and see the schedule as it stood before the amendment
(the old figures) next to the current one."""
import re
from decimal import Decimal

import pytest

from kamcrm.core.tests.browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WORDS = {
    "zh-hans": {"draft": "草稿", "active": "执行中", "schedule": "收入计划"},
    "en": {"draft": "draft", "active": "active", "schedule": "Revenue schedule"},
}


def _fill_date(page, selector: str, value: str) -> None:
    page.fill(selector, value)
    page.keyboard.press("Escape")  # close the date picker


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_create_sign_amend_and_see_the_schedule_as_it_was(org, live_server, browser, language, tmp_path):
    from kamcrm.agreements.models import Agreement, RevenueSlice
    from kamcrm.products import services as product_services

    line = product_services.product_line_create(code="IDC", name="数据中心")
    product = product_services.product_create(line=line, code="IDC-RACK", name="机柜租用", list_price=Decimal("10000"),
                                              unit="架")
    words = WORDS[language]
    context = browser.new_context(locale="zh-CN" if language == "zh-hans" else "en-US",
                                  viewport={"width": 1600, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(15_000)
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    try:
        sign_in(page, live_server, "rep", language)
        assert page.locator("html").get_attribute("lang") == language

        # given: the account 360 page, whose agreements card loads by htmx
        page.goto(f"{live_server.url}/accounts/{org.acct.pk}/")
        page.get_by_test_id("account-agreement-add").click()
        page.wait_for_url(re.compile(r"/agreements/add/\?account="))

        # when: a draft agreement is created with one line of 120,000 over 2026
        number = f"HT-2026-{language}"
        page.get_by_test_id("agreement-number").fill(number)
        page.get_by_test_id("agreement-title").fill("机柜租用协议" if language == "zh-hans" else "Rack rental")
        _fill_date(page, "#id_start_date", "2026-01-01")
        _fill_date(page, "#id_end_date", "2026-12-31")
        page.get_by_test_id("line-product-0").select_option(str(product.pk))
        page.get_by_test_id("line-quantity-0").fill("12")
        page.get_by_test_id("line-unit-price-0").fill("10000")
        page.screenshot(path=str(tmp_path / f"form-{language}.png"), full_page=True)
        page.get_by_test_id("save").click()
        page.wait_for_url(re.compile(r"/agreements/\d+/$"))
        agreement = Agreement.objects.get(number=number)
        assert agreement.total_value == Decimal("120000.00")
        assert page.get_by_test_id("agreement-status").first.inner_text() == words["draft"]
        assert page.get_by_test_id("agreement-value").inner_text() == "¥120,000.00"

        # and it is signed
        page.get_by_test_id("action-sign").click()
        page.get_by_test_id("confirm-sign").click()
        page.wait_for_url(re.compile(rf"/agreements/{agreement.pk}/$"))
        page.get_by_test_id("schedule-grid").wait_for()

        # then: its schedule has 12 months of 10,000 each
        assert page.get_by_test_id("schedule-month").count() == 12
        assert set(page.get_by_test_id("schedule-total").all_inner_texts()) == {"10,000.00"}
        assert page.get_by_test_id("schedule-grand-total").inner_text() == "120,000.00"
        assert page.get_by_test_id("agreement-status").first.inner_text() == words["active"]
        assert words["schedule"] in page.get_by_test_id("schedule").inner_text()
        page.screenshot(path=str(tmp_path / f"signed-{language}.png"), full_page=True)

        # when: it is amended from 1 June to 134,000
        page.get_by_test_id("agreement-amend").click()
        page.wait_for_url(re.compile(rf"/agreements/{agreement.pk}/amend/$"))
        _fill_date(page, "#id_effective", "2026-06-01")
        page.get_by_test_id("amend-amount-0").fill("134000")
        page.screenshot(path=str(tmp_path / f"amend-{language}.png"), full_page=True)
        page.get_by_test_id("save-amendment").click()
        page.wait_for_url(re.compile(rf"/agreements/{agreement.pk}/$"))

        # then: May keeps 10,000, June on is 12,000; the history shows the amendment
        totals = page.get_by_test_id("schedule-total").all_inner_texts()
        assert totals[:5] == ["10,000.00"] * 5 and totals[5:] == ["12,000.00"] * 7
        assert page.get_by_test_id("schedule-grand-total").inner_text() == "134,000.00"
        assert page.locator('[data-testid="change-row"][data-kind="amended"]').count() == 1
        assert RevenueSlice.objects.filter(agreement=agreement, superseded_at__isnull=False).count() == 7

        # and the schedule as it stood after signing shows the old figures
        page.get_by_test_id("as-of-change-signed").click()
        page.wait_for_url(re.compile(r"\?as_of="))
        page.get_by_test_id("as-of-badge").wait_for()
        assert set(page.get_by_test_id("schedule-total").all_inner_texts()) == {"10,000.00"}
        assert page.get_by_test_id("schedule-grand-total").inner_text() == "120,000.00"
        page.screenshot(path=str(tmp_path / f"as-of-{language}.png"), full_page=True)

        # and "now" comes back to the current schedule
        page.get_by_test_id("as-of-now").click()
        page.wait_for_url(re.compile(rf"/agreements/{agreement.pk}/(#schedule)?$"))
        assert page.get_by_test_id("schedule-grand-total").inner_text() == "134,000.00"
        assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems
    finally:
        context.close()



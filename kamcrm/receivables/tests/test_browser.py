"""Receivables end to end in a real browser (Debian's chromium through Playwright), in zh-Hans and
English: the receivables page's aging drills down to the overdue invoice, a partial payment and then
an over-payment are recorded on its page (the rest stays an advance), and the account 360 card loads."""
import datetime as dt
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from kamcrm.core.tests.browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WORDS = {"zh-hans": {"heading": "应收款", "saved": "已登记回款", "advance": "作为预收款"},
         "en": {"heading": "Receivables", "saved": "Payment of", "advance": "stays on the account as an advance"}}


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_drill_down_and_record_payments(org, live_server, browser, language, tmp_path):
    from kamcrm.receivables.models import Invoice, Payment
    from kamcrm.receivables.tests.helpers import invoice

    today = timezone.localdate()
    late = invoice(org.acct, amount="1000.00", day=today - dt.timedelta(days=50), due=today - dt.timedelta(days=20),
                   number="BR-LATE")
    invoice(org.acct, amount="300.00", day=today - dt.timedelta(days=3), number="BR-NOW")
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

        # given: the receivables page, reached from the navigation
        page.get_by_test_id("nav-receivables").click()
        page.wait_for_url(re.compile(r"/receivables/$"))
        assert words["heading"] in page.locator("h1").inner_text()
        assert page.get_by_test_id("bucket-amount-d1_30").inner_text() == "¥1,000.00"
        assert page.get_by_test_id("bucket-amount-current").inner_text() == "¥300.00"
        page.screenshot(path=str(tmp_path / f"aging-{language}.png"), full_page=True)

        # when: the 1–30 days bucket is drilled into, and the invoice opened
        page.get_by_test_id("bucket-drill-d1_30").click()
        page.wait_for_url(re.compile(r"/receivables/invoices/\?"))
        assert page.get_by_test_id("invoice-row").count() == 1
        page.get_by_test_id("invoice-link").click()
        page.wait_for_url(re.compile(rf"/receivables/invoices/{late.pk}/$"))

        # and a partial payment is recorded, then an over-payment
        page.fill("#id_payment-amount", "400.00")
        page.get_by_test_id("payment-save").click()
        page.wait_for_url(re.compile(rf"/receivables/invoices/{late.pk}/#payment$"))
        assert words["saved"] in page.locator(".alert-success").inner_text()
        assert page.get_by_test_id("invoice-balance").inner_text() == "¥600.00"
        page.fill("#id_payment-amount", "700.00")
        page.get_by_test_id("payment-save").click()
        page.wait_for_url(re.compile(rf"/receivables/invoices/{late.pk}/#payment$"))
        assert words["advance"] in page.locator(".alert-success").inner_text()
        assert page.get_by_test_id("invoice-balance").inner_text() == "¥0.00"
        assert page.get_by_test_id("allocation-row").count() == 2
        page.screenshot(path=str(tmp_path / f"invoice-{language}.png"), full_page=True)

        # then: the account 360 card shows what is still open and the advance
        page.goto(f"{live_server.url}/accounts/{org.acct.pk}/")
        page.get_by_test_id("account-balance").wait_for()
        assert page.get_by_test_id("account-balance").inner_text() == "¥300.00"
        assert page.get_by_test_id("account-advances").inner_text() == "¥100.00"
        assert Invoice.objects.get(pk=late.pk).status == "paid"
        assert sorted(p.unallocated for p in Payment.objects.all()) == [Decimal("0.00"), Decimal("100.00")]
        # (a missing favicon shows as a console 404; what matters is CSP and script errors)
        assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p or "Error" in p], problems
    finally:
        context.close()

"""End to end in a real browser (Debian's chromium through Playwright, never a downloaded browser):
log in, search an account, open its 360 page, edit a field, see the audit entry — in zh-Hans and English."""
import re

import pytest

from kamcrm.core.tests.browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


LABELS = {
    "zh-hans": {"history": "变更记录", "accounts": "客户"},
    "en": {"history": "History", "accounts": "Accounts"},
}


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_it_logs_in_searches_opens_the_360_page_edits_and_sees_the_audit_entry(org, live_server, browser, language, tmp_path):
    from kamcrm.audit.models import ObjectChange
    from kamcrm.customers.models import Account

    context = browser.new_context(locale="zh-CN" if language == "zh-hans" else "en-US")
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        # given: the login page, in the language under test
        sign_in(page, live_server, "rep", language)
        assert page.locator("html").get_attribute("lang") == language

        # when: search the account from the navbar box
        page.fill("#global-search", "浦江")
        page.press("#global-search", "Enter")
        page.wait_for_url(re.compile(r"/search/\?q="))
        page.get_by_role("link", name=re.compile("上海浦江制造")).first.click()
        page.wait_for_url(re.compile(rf"/accounts/{org.acct.pk}/$"))
        assert "上海浦江制造有限公司" in page.content()

        # and edit a field on the 360 page
        new_short = "浦江智造" if language == "zh-hans" else "Pujiang Mfg"
        page.get_by_test_id("account-edit").click()
        page.fill("#id_short_name", new_short)
        page.get_by_test_id("save").click()
        page.wait_for_url(re.compile(rf"/accounts/{org.acct.pk}/$"))

        # then: the page shows the new value and its audit entry, in the language chosen
        history = page.get_by_test_id("account-history")
        history.scroll_into_view_if_needed()
        history.get_by_test_id("history-change").filter(has_text=new_short).first.wait_for()
        assert LABELS[language]["history"] in page.content()
        page.screenshot(path=str(tmp_path / f"account-360-{language}.png"), full_page=True)
        assert Account.objects.get(pk=org.acct.pk).short_name == new_short
        entry = ObjectChange.objects.filter(object_id=org.acct.pk, action="update").latest("id")
        assert entry.channel == "ui" and entry.actor_id == org.rep.pk
        assert entry.changes["short_name"][1] == new_short
    finally:
        context.close()

"""The weekly plan and report in a real browser (Debian's chromium through Playwright), by keyboard only:
start last week's plan, add an item, share it, answer it and submit the report; then the manager finds it
on the roll-up and reviews it. No script errors, no failed requests."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from kamcrm.core.tests.browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def login(browser, live_server, username: str):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(15_000)
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text)
            if msg.type == "error" and "Failed to load resource" not in msg.text else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    sign_in(page, live_server, username)
    return context, page, problems


def test_a_week_by_keyboard_and_its_review(org, live_server, browser):
    from kamcrm.poa import selectors
    from kamcrm.poa.choices import WeeklyStatus
    from kamcrm.poa.models import WeeklyPlan

    year, week = selectors.week_of(timezone.localdate() - dt.timedelta(days=7))
    context, page, problems = login(browser, live_server, "rep")
    page.goto(f"{live_server.url}/poa/weekly/{year}/W{week}/")
    page.keyboard.press("Enter")  # the start button has the focus
    page.wait_for_url(re.compile(r"/poa/weekly/\d+/$"))
    page.focus("#id_item-kind")
    page.keyboard.press("Tab")
    page.keyboard.type("拜访浦江制造采购部")
    page.keyboard.press("Enter")  # submits the item form
    page.wait_for_selector('[data-testid^="item-"] >> text=拜访浦江制造采购部')
    page.get_by_test_id("plan-share").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector('[data-testid="weekly-head"] >> text=/\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d/')
    weekly = WeeklyPlan.objects.get(person=org.rep)
    item = weekly.items.get()
    page.focus(f"#id_report-done_{item.pk}_0")
    page.keyboard.press("Space")
    page.focus("#id_report-summary")
    page.keyboard.press("Control+a")
    page.keyboard.type("本周拜访一家客户")
    page.get_by_test_id("report-submit").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.get_by_test_id("figures-submitted").count() == 1  # the figures kept with the report
    weekly.refresh_from_db()
    assert weekly.status == WeeklyStatus.SUBMITTED and weekly.items.get().done is True
    assert not problems, problems
    context.close()

    context, page, problems = login(browser, live_server, "manager")
    page.goto(f"{live_server.url}/poa/weekly/team/?unit={org.team_e1.pk}&week={year}-W{week:02d}")
    assert page.get_by_test_id("counts-rep").inner_text() == "1 / 1"
    page.get_by_test_id("row-rep").get_by_role("link").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/poa/weekly/{weekly.pk}/$"))
    page.focus("#id_review-review_comment")
    page.keyboard.type("很好，下周跟进报价")
    page.get_by_test_id("review-submit").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector('[data-testid="review-comment"]')
    assert "很好" in page.get_by_test_id("review-comment").inner_text()
    page.screenshot(path="/tmp/h3i18n/weekly_detail.png", full_page=True)
    page.goto(f"{live_server.url}/poa/weekly/team/?unit={org.team_e1.pk}&week={year}-W{week:02d}")
    page.screenshot(path="/tmp/h3i18n/weekly_rollup.png", full_page=True)
    assert not problems, problems
    context.close()
    weekly.refresh_from_db()
    assert weekly.status == WeeklyStatus.REVIEWED

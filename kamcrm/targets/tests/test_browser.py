"""Targets end to end in a real browser (Debian's chromium through Playwright), in zh-Hans and English:
the department head splits the department's target onto its team and the team's onto its people on the
plan page, submits the department's level; business management approves it; the rep opens completion and
sees the target they were given, with the charts drawn and no script error."""
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from kamcrm.core.tests.browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
D = Decimal


def login(browser, live_server, username: str, language: str):
    context = browser.new_context(locale="zh-CN" if language == "zh-hans" else "en-US",
                                  viewport={"width": 1600, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(15_000)
    problems: list[str] = []
    # script errors and CSP refusals; a 404 counts unless it is the browser's own favicon request
    page.on("console", lambda msg: problems.append(msg.text)
            if msg.type == "error" and "Failed to load resource" not in msg.text else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    sign_in(page, live_server, username, language)
    return context, page, problems


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_split_a_department_onto_its_people_approve_and_see_completion(org, live_server, browser, language):
    from kamcrm.targets import services
    from kamcrm.targets.models import Metric, TargetLine

    services.metric_defaults_ensure()
    metric = Metric.objects.get(code="expected_revenue")
    plan = services.plan_create(year=timezone.localdate().year)
    services.target_set(plan=plan, metric=metric, node=org.hq, amounts=[D("12000")] * 12)
    services.target_decompose_by_shares(plan=plan, metric=metric, parent=org.hq, shares={org.east: 1})
    services.target_decompose_by_shares(plan=plan, metric=metric, parent=org.east, shares={org.sales_east: 1})

    # the department head splits the department onto its team, then the team onto its people
    context, page, problems = login(browser, live_server, "dept_head", language)
    page.goto(f"{live_server.url}/targets/{plan.pk}/?metric={metric.code}")
    page.get_by_test_id(f"split-u{org.sales_east.pk}").click()
    page.wait_for_url(re.compile(r"/edit/\?"))
    rows = [page.get_by_test_id(f"edit-row-{i}").locator("th").inner_text() for i in range(
        page.locator('[data-testid^="edit-row-"]').count())]
    team = rows.index(str(org.team_e1))
    for month in range(1, 13):
        page.fill(f"#id_r{team}_m{month}", "10000")
    page.get_by_test_id("save-months").click()
    page.wait_for_url(re.compile(rf"/targets/{plan.pk}/\?metric="))
    page.get_by_test_id(f"split-u{org.team_e1.pk}").click()
    page.wait_for_url(re.compile(r"/edit/\?"))
    rows = [page.get_by_test_id(f"edit-row-{i}").locator("th").inner_text() for i in range(
        page.locator('[data-testid^="edit-row-"]').count())]
    for person, amount in ((org.rep, "6000"), (org.peer, "3000")):
        i = rows.index(str(person))
        for month in range(1, 13):
            page.fill(f"#id_r{i}_m{month}", amount)
    page.get_by_test_id("save-months").click()
    page.wait_for_url(re.compile(rf"/targets/{plan.pk}/\?metric="))
    grid = page.get_by_test_id("plan-grid")
    assert grid.get_by_test_id(f"row-p{org.rep.pk}").locator("td").last.inner_text().replace(",", "") == "72000.00"
    assert grid.get_by_test_id(f"row-u{org.team_e1.pk}-unallocated").locator("td").first.inner_text() == "1,000"

    # … and submits the department's level for approval
    review = page.get_by_test_id("review-form")
    review.locator("#id_unit").select_option(str(org.sales_east.pk))
    review.locator("#id_action").select_option("submit")
    review.locator("#id_comment").fill("分解到人")
    review.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(rf"/targets/{plan.pk}/"))
    assert "分解到人" in page.get_by_test_id("reviews").inner_text()
    assert not problems, problems
    context.close()

    # business management approves the department's split
    context, page, problems = login(browser, live_server, "bizmgmt", language)
    page.goto(f"{live_server.url}/targets/{plan.pk}/?metric={metric.code}")
    review = page.get_by_test_id("review-form")
    review.locator("#id_unit").select_option(str(org.sales_east.pk))
    review.locator("#id_action").select_option("approve")
    review.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(rf"/targets/{plan.pk}/"))
    assert services.level_status(plan=plan, unit=org.sales_east) == "approve"
    assert not problems, problems
    context.close()

    # the rep sees their month's target on the completion page, the gauges drawn
    context, page, problems = login(browser, live_server, "rep", language)
    page.goto(f"{live_server.url}/targets/completion/")
    row = page.get_by_test_id(f"metric-{metric.code}")
    assert row.locator("td").first.inner_text() == "6,000.00"
    page.wait_for_function("document.querySelector('#completion-gauges canvas') !== null")
    assert not problems, problems
    context.close()
    assert TargetLine.objects.filter(plan=plan, node=f"p{org.rep.pk}", amount=D("6000")).count() == 12
    assert services.balance_problems(plan=plan) == []

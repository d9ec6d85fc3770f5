"""Opportunities end to end in a real browser (Debian's chromium through Playwright), in zh-Hans and
English: create an opportunity from the account 360 page, move it through the stages on its page,
see a refused move's message (leaving "relationship built" without a contact), drag a card on the
board and see it come back when the move is refused, then see the funnel's table and chart change."""
import re
from decimal import Decimal

import pytest

from kamcrm.core.tests.browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def stage_path(db):
    """A transactional test flushes every table, the stage path its data migration seeded included:
    seed it again the way the migration does. (serialized_rollback would, but it skips post_migrate
    after its flush and leaves the next transactional test without content types.)"""
    import importlib

    from django.apps import apps

    from kamcrm.sales.models import Stage

    if not Stage.objects.exists():
        importlib.import_module("kamcrm.sales.migrations.0002_default_stages").forwards(apps, None)

STAGE = {
    "zh-hans": {"relationship": "建立客户关系", "lost": "输单", "nav": "销售漏斗"},
    "en": {"relationship": "Relationship built", "lost": "Lost", "nav": "Sales funnel"},
}


def drag(page, source, target) -> None:
    """Drag with the mouse in small steps, as a person does (SortableJS follows the pointer)."""
    target.scroll_into_view_if_needed()
    source.scroll_into_view_if_needed()
    box, goal = source.bounding_box(), target.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 10, box["y"] + box["height"] / 2 + 10, steps=5)
    page.mouse.move(goal["x"] + goal["width"] / 2, goal["y"] + 20, steps=20)
    page.wait_for_timeout(200)  # let the list register the card over it before it is dropped
    page.mouse.move(goal["x"] + goal["width"] / 2, goal["y"] + 24, steps=3)
    page.mouse.up()


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_create_move_refuse_and_watch_the_funnel(org, stage_path, live_server, browser, language, tmp_path):
    from kamcrm.products import services as product_services
    from kamcrm.sales.models import Opportunity, OpportunityStageChange

    line = product_services.product_line_create(code="5G", name="5G 专网")
    product = product_services.product_create(line=line, code="5G-PN", name="5G 专网套餐",
                                              list_price=Decimal("12000.00"), unit="套")
    words = STAGE[language]
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

        # given: the account 360 page, whose opportunities card loads by htmx
        page.goto(f"{live_server.url}/accounts/{org.acct.pk}/")
        page.get_by_test_id("account-opportunity-add").click()
        page.wait_for_url(re.compile(r"/sales/add/\?account="))

        # when: an opportunity is created with a product line at the list price
        name = "园区 5G 专网" if language == "zh-hans" else "Campus 5G network"
        page.fill("#id_name", name)
        page.fill("#id_expected_close_date", "2026-12-31")
        page.keyboard.press("Escape")
        page.get_by_test_id("line-product-0").select_option(str(product.pk))
        page.get_by_test_id("line-quantity-0").fill("2")
        page.get_by_test_id("save").click()
        page.wait_for_url(re.compile(r"/sales/\d+/$"))
        opportunity = Opportunity.objects.get(name=name)
        assert opportunity.amount == Decimal("24000.00")
        # grouped as the language's number format groups (Django's zh_Hans format has no thousands separator)
        amount = "¥24,000.00"  # both languages group thousands (kamcrm/formats/zh_Hans)
        assert page.get_by_test_id("opportunity-amount").inner_text() == amount

        # and it is moved through the stages with the stage buttons
        for code in ("created", "assigned", "relationship"):
            page.get_by_test_id(f"move-{code}").click()
            page.wait_for_url(re.compile(rf"/sales/{opportunity.pk}/$"))
            page.locator(f'[data-testid="move-{code}"][aria-current="step"]').wait_for()
        assert page.get_by_test_id("opportunity-stage").inner_text() == words["relationship"]
        assert page.get_by_test_id("history-row").count() == 4

        # then: leaving "relationship built" without a contact is refused, saying why; nothing changes
        page.get_by_test_id("move-negotiation").click()
        alert = page.locator(".alert-danger").first
        alert.wait_for()
        assert words["relationship"] in alert.inner_text()
        assert "at least one contact involved" in alert.inner_text() or "联系人" in alert.inner_text()
        assert page.get_by_test_id("opportunity-stage").inner_text() == words["relationship"]
        assert OpportunityStageChange.objects.filter(opportunity=opportunity).count() == 4
        page.screenshot(path=str(tmp_path / f"refused-{language}.png"), full_page=True)

        # and on the board, dragging the card to negotiation is refused too: the message shows, the card returns
        page.goto(f"{live_server.url}/sales/board/")
        card = page.locator('[data-testid="board-column-relationship"] [data-testid="board-card"]').first
        target = page.locator('[data-testid="board-column-negotiation"] .js-board-cards')
        drag(page, card, target)
        board_alert = page.get_by_test_id("board-alert")
        board_alert.wait_for(state="visible")
        assert words["relationship"] in board_alert.inner_text()
        page.locator('[data-testid="board-column-relationship"] [data-testid="board-card"]').first.wait_for()
        assert page.locator('[data-testid="board-column-negotiation"] [data-testid="board-card"]').count() == 0
        opportunity.refresh_from_db()
        assert opportunity.stage.code == "relationship"
        page.screenshot(path=str(tmp_path / f"board-{language}.png"), full_page=True)
        # dragging it to "lost" asks for the reason; cancelling puts the card back
        assert not page.get_by_test_id("lost-reason-dialog").is_visible()
        page.evaluate("""() => { const board = document.getElementById('opportunity-board');
            const col = board.querySelector('[data-testid=board-column-relationship]');
            board.scrollLeft = col.offsetLeft - board.offsetLeft; }""")
        drag(page, page.locator('[data-testid="board-column-relationship"] [data-testid="board-card"]').first,
             page.locator('[data-testid="board-column-lost"] .js-board-cards'))
        page.get_by_test_id("lost-reason-input").wait_for(state="visible")
        page.screenshot(path=str(tmp_path / f"board-lost-{language}.png"), full_page=True)
        page.get_by_test_id("lost-reason-cancel").click()
        page.get_by_test_id("lost-reason-dialog").wait_for(state="hidden")
        assert page.locator('[data-testid="board-column-relationship"] [data-testid="board-card"]').count() == 1
        assert page.locator('[data-testid="board-column-lost"] [data-testid="board-card"]').count() == 0
        opportunity.refresh_from_db()
        assert opportunity.stage.code == "relationship"

        # the funnel shows it in "relationship built", in the table and the chart
        page.get_by_test_id("nav-sales").click()  # the sales menu
        page.get_by_test_id("nav-funnel").click()
        page.wait_for_url(re.compile(r"/sales/funnel/"))
        assert page.get_by_test_id("funnel-count-relationship").inner_text() == "1"
        page.locator('[data-testid="funnel-chart"][data-rendered="true"]').wait_for()
        page.locator('[data-testid="funnel-chart"] canvas').first.wait_for()
        assert page.get_by_test_id("funnel-total-lost").locator("th").nth(1).inner_text() == "0"
        page.screenshot(path=str(tmp_path / f"funnel-before-{language}.png"), full_page=True)

        # when it is lost, with its reason, from its page
        page.goto(f"{live_server.url}/sales/{opportunity.pk}/")
        page.get_by_test_id("move-lost").click()
        page.get_by_test_id("lost-reason-lost").fill("预算取消")
        page.get_by_test_id("confirm-lost").click()
        page.wait_for_url(re.compile(rf"/sales/{opportunity.pk}/$"))
        page.get_by_test_id("opportunity-lost-reason").wait_for()
        assert page.get_by_test_id("opportunity-stage").inner_text() == words["lost"]

        # then the funnel's table moved it from relationship to lost, and the drill-down lists it
        page.goto(f"{live_server.url}/sales/funnel/?measure=amount")
        assert page.get_by_test_id("funnel-count-relationship").inner_text() == "0"
        assert page.get_by_test_id("funnel-total-lost").locator("th").nth(1).inner_text() == "1"
        page.locator('[data-testid="funnel-chart"][data-rendered="true"]').wait_for()
        page.get_by_test_id("funnel-drill-lost").click()
        page.wait_for_url(re.compile(r"/sales/\?stage=\d+"))
        assert page.get_by_test_id("opportunity-link").all_inner_texts() == [name]
        page.screenshot(path=str(tmp_path / f"funnel-after-{language}.png"), full_page=True)
        assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems
    finally:
        context.close()


def test_collaborators_are_picked_with_the_keyboard(org, stage_path, live_server, browser):
    """The collaborators picker searches people of any unit as one types: Enter adds the highlighted
    person, Escape clears the search, Backspace removes the last one added."""
    from kamcrm.sales import services

    opportunity = services.opportunity_create(by=org.rep, account=org.acct, name="协同", owner=org.rep,
                                              collaborators=[org.peer])
    context = browser.new_context(locale="en-US", viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(15_000)
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    try:
        sign_in(page, live_server, "rep")
        page.goto(f"{live_server.url}/sales/{opportunity.pk}/edit/")
        control = page.locator("#id_collaborators-ts-control")
        control.focus()
        for name in ("partner", "outsider"):
            page.keyboard.type(name)
            page.locator(".ts-dropdown .option.active", has_text=name).wait_for()
            page.keyboard.press("Enter")
            page.keyboard.press("Escape")  # closes the list and clears the search text
        page.keyboard.press("Backspace")  # the last one added (outsider) goes again
        assert sorted(page.locator("#id_collaborators option:checked").all_inner_texts()) == [
            "partner · 合作伙伴", "peer · 华东一组"]
        page.get_by_test_id("save").click()
        page.wait_for_url(re.compile(rf"/sales/{opportunity.pk}/$"))
        assert set(opportunity.collaborators.all()) == {org.peer, org.partner}
        assert "partner" in page.get_by_test_id("opportunity-collaborators").inner_text()
        assert not problems, problems
    finally:
        context.close()

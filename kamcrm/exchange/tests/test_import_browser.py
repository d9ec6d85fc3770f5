"""An import end to end in a real browser (Debian's chromium through Playwright): upload a CSV with a
bad row, map its columns, save the mapping, see the job finish with the rejected row and its file."""
import re

import pytest

from kamcrm.core.tests.browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FILE = "公司名称,编号,行业\n星河电力有限公司,C-1,能源\n,C-2,金融\n华夏银行南京分行,C-3,finance\n"


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_upload_map_and_follow_an_import(org, live_server, browser, settings, tmp_path, language):
    from kamcrm.customers.models import Account
    from kamcrm.exchange.models import ImportJob, ImportMapping

    settings.KAMCRM_IMPORT_DIR = tmp_path / "imports"
    upload = tmp_path / "accounts.csv"
    upload.write_bytes(FILE.encode("gb18030"))  # as Excel on a Chinese Windows saves it
    context = browser.new_context(locale="zh-CN" if language == "zh-hans" else "en-US", accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        sign_in(page, live_server, "admin", language)

        # given: the import page, reached from the navbar
        page.get_by_test_id("nav-imports").click()
        page.wait_for_url(re.compile(r"/exchange/imports/$"))
        page.get_by_test_id("import-new").first.click()

        # when: the file is uploaded as accounts from "old-crm"
        page.set_input_files("#id_file", str(upload))
        page.select_option("#id_entity", "account")
        page.fill("#id_source_system", "old-crm")
        page.get_by_test_id("import-upload").click()
        page.wait_for_url(re.compile(r"/exchange/imports/\d+/map/$"))

        # and its columns are mapped, with constants for the region and the owner, and the mapping saved
        page.select_option("#col_name", "公司名称")
        page.select_option("#col_external_id", "编号")
        page.select_option("#col_industry", "行业")
        page.get_by_test_id("val-region").fill(org.east.code)
        page.get_by_test_id("val-owner").fill(org.rep.username)
        page.fill("#save_as", "old-crm-accounts")
        page.get_by_test_id("map-start").click()
        page.wait_for_url(re.compile(r"/exchange/imports/\d+/$"))

        # then: the job is done, two rows written, the nameless one listed with its line and column
        page.locator('[data-testid="import-status"][data-status="done"]').wait_for()
        assert page.get_by_test_id("import-percent").inner_text() == "100%"
        row = page.get_by_test_id("import-error-row")
        assert row.count() == 1 and row.first.locator("td").first.inner_text() == "3"
        assert "公司名称" in row.first.inner_text()
        page.screenshot(path=str(tmp_path / f"import-{language}.png"), full_page=True)
        with page.expect_download() as download:
            page.get_by_test_id("import-errors-download").click()
        lines = open(download.value.path(), encoding="utf-8-sig").read().splitlines()
        assert len(lines) == 2 and lines[1].startswith("3,公司名称,")

        job = ImportJob.objects.get()
        assert (job.total_rows, job.bad_rows, job.counts["0"]["created"]) == (3, 1, 2)
        assert Account.objects.get(source_system="old-crm", external_id="C-1").name == "星河电力有限公司"
        assert Account.objects.get(source_system="old-crm", external_id="C-1").industry == "energy"
        assert ImportMapping.objects.filter(name="old-crm-accounts").exists()
    finally:
        context.close()

"""Real files through the shipped mappings and the CLI: Maven Analytics' CRM accounts and sales teams,
and the GBK list of China's A-share securities (../shared/datasets)."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest
from django.core.management import call_command

from conftest import shared_datasets
from kamcrm.customers.models import Account
from kamcrm.exchange.models import ImportJob, ImportMapping, ImportStatus
from kamcrm.org.models import OrgUnit, User

pytestmark = pytest.mark.django_db

DATASETS = shared_datasets()
MAVEN = DATASETS / "maven_crm_sales_opportunities"
STOCKS = DATASETS / "cn_a_share_security_list" / "stock_basic.csv"


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"SKIPPED: data set {path} is not on this machine")
    return path


@pytest.fixture(autouse=True)
def _import_dir(settings, tmp_path):
    settings.KAMCRM_IMPORT_DIR = tmp_path
    settings.KAMCRM_IMPORT_BATCH_SIZE = 500
    call_command("import_mapping", "builtin", stdout=open("/dev/null", "w"))  # noqa: SIM115


def import_data(path: Path, mapping: str, *sets: str) -> ImportJob:
    """`kamcrm import_data PATH --mapping NAME --set [STEP.]FIELD=VALUE ...`"""
    args = [str(path), "--mapping", mapping, "--verbosity", "0"]
    for item in sets:
        args += ["--set", item]
    call_command("import_data", *args, stdout=open("/dev/null", "w"))  # noqa: SIM115
    return ImportJob.objects.order_by("-id").first()


def test_cli_set_overrides_a_constant_of_the_saved_mapping(org):
    """The shipped mappings say region JS (not in this organisation): --set replaces it for one run."""
    path = need(MAVEN / "accounts.csv")
    job = import_data(path, "maven-accounts", f"region={org.west.code}", f"owner={org.outsider.username}")
    assert (job.status, job.bad_rows) == (ImportStatus.DONE, 0)
    assert job.steps[0]["fields"]["region"] == {"value": org.west.code}
    assert ImportMapping.objects.get(name="maven-accounts").steps[0]["fields"]["region"] == {"value": "JS"}
    assert set(Account.objects.filter(source_system="maven").values_list("region__code", "owner__username")) == {
        (org.west.code, org.outsider.username)}


def test_maven_accounts(org):
    path = need(MAVEN / "accounts.csv")
    with path.open(encoding="utf-8") as fh:
        source = list(csv.DictReader(fh))
    assert len(source) == 85
    job = import_data(path, "maven-accounts", f"region={org.east.code}", f"owner={org.admin.username}")
    assert (job.status, job.total_rows, job.bad_rows) == (ImportStatus.DONE, 85, 0), list(job.row_errors.values_list("line", "column", "message")[:3])
    assert job.counts == {"0": {"created": 85}}
    accounts = Account.objects.filter(source_system="maven")
    assert accounts.count() == 85
    assert accounts.filter(parent__isnull=False).count() == 15 == sum(1 for r in source if r["subsidiary_of"])
    assert accounts.get(external_id="Bluth Company").parent.external_id == "Acme Corporation"
    assert {a.parent.name for a in accounts.filter(parent__isnull=False).select_related("parent")} == {
        r["subsidiary_of"] for r in source if r["subsidiary_of"]}
    misspelt = [r["account"] for r in source if r["sector"] == "technolgy"]
    assert len(misspelt) == 12
    assert set(accounts.filter(external_id__in=misspelt).values_list("industry", flat=True)) == {"internet"}
    assert [tags for tags in accounts.filter(external_id__in=misspelt).values_list("tags", flat=True)] == [
        ["technology"]] * 12
    assert not accounts.filter(address="Philipines").exists()
    assert set(accounts.values_list("region__code", "owner__username")) == {(org.east.code, org.admin.username)}

    again = import_data(path, "maven-accounts", f"region={org.east.code}", f"owner={org.admin.username}")
    assert again.status == ImportStatus.DONE
    assert again.counts == {"0": {"unchanged": 85}}
    assert accounts.count() == 85


def test_maven_sales_teams(org):
    path = need(MAVEN / "sales_teams.csv")
    job = import_data(path, "maven-sales-teams", f"1.parent={org.hq.code}")
    assert (job.status, job.total_rows, job.bad_rows) == (ImportStatus.DONE, 35, 0), list(job.row_errors.values_list("line", "column", "message")[:3])
    assert job.counts["0"] == {"created": 3, "repeated": 32}
    assert job.counts["1"] == {"created": 6, "repeated": 29}
    assert job.counts["2"] == {"created": 35}
    regions = OrgUnit.objects.filter(code__in=["MV-Central", "MV-East", "MV-West"])
    assert sorted(regions.values_list("name", "kind", "parent__code")) == [
        ("Central", "region", "HQ"), ("East", "region", "HQ"), ("West", "region", "HQ")]
    teams = OrgUnit.objects.filter(kind="team", code__startswith="MV-")
    assert teams.count() == 6
    anna = User.objects.select_related("unit__parent").get(username="anna.snelling")
    assert (anna.display_name, anna.unit.name, anna.unit.parent.name) == ("Anna Snelling", "Dustin Brinkmann", "Central")
    assert User.objects.filter(source_system="maven").count() == 35

    again = import_data(path, "maven-sales-teams", f"1.parent={org.hq.code}")
    assert again.status == ImportStatus.DONE
    assert again.counts["2"] == {"unchanged": 35} and "created" not in again.counts["0"]


def test_a_share_security_list_in_gbk(org, settings):
    path = need(STOCKS)
    settings.KAMCRM_IMPORT_BATCH_SIZE = 1000
    job = import_data(path, "cn-a-share-accounts", f"region={org.east.code}", f"owner={org.admin.username}")
    assert (job.status, job.total_rows, job.bad_rows) == (ImportStatus.DONE, 4732, 0), job.error_message
    accounts = Account.objects.filter(source_system="baostock")
    assert accounts.count() == 4732
    assert accounts.filter(status="closed").count() == 154
    assert accounts.get(external_id="sh.600000").name == "浦发银行"
    assert accounts.get(external_id="sh.000001").name == "上证综合指数"
    assert accounts.filter(tags=["指数"]).count() + accounts.filter(tags=["股票"]).count() <= 4732

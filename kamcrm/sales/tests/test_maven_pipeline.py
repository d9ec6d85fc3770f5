"""Acceptance: Maven Analytics' CRM Sales Opportunities (/work/shared/datasets/maven_crm_sales_opportunities,
SOURCE.md) imported through the shipped mappings and the CLI gives the data set's headline figures."""
from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import Avg, Sum

from conftest import shared_datasets
from kamcrm.customers.models import Account
from kamcrm.exchange.models import ImportMapping
from kamcrm.org.models import OrgUnit
from kamcrm.products.models import Product, ProductLine
from kamcrm.sales.models import Opportunity, OpportunityLine, OpportunityStageChange
from kamcrm.sales.selectors import funnel

DATA = shared_datasets() / "maven_crm_sales_opportunities"
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not (DATA / "sales_pipeline.csv").exists(), reason="Maven data set not available"),
]


@pytest.fixture(autouse=True)
def _import_dir(settings, tmp_path):
    settings.KAMCRM_IMPORT_DIR = tmp_path


def _import(name: str, mapping: str, *sets: str) -> str:
    out = io.StringIO()
    args = [str(DATA / name), "--mapping", mapping]
    for item in sets:
        args += ["--set", item]
    call_command("import_data", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def _constants_for_fixture() -> None:
    """The shipped mappings name the demo's root unit "JS"; the org fixture's root is "HQ". `--set` says so
    below too, but import_job_create currently lets a saved mapping's steps win over the CLI's --set
    (reported to the lead), so the saved copies are pointed at the fixture here as an administrator would."""
    for mapping in ImportMapping.objects.filter(name__in=["maven-accounts", "maven-pipeline"]):
        for step in mapping.steps:
            if step["entity"] == "account":
                step["fields"]["region"] = {"value": "HQ"}
        mapping.save(update_fields=["steps"])


@pytest.fixture
def maven(org):
    call_command("import_mapping", "builtin", stdout=io.StringIO())
    _constants_for_fixture()
    outputs = {
        "accounts": _import("accounts.csv", "maven-accounts", "region=HQ", "owner=admin"),
        "teams": _import("sales_teams.csv", "maven-sales-teams"),
        "products": _import("products.csv", "maven-products"),
        "pipeline": _import("sales_pipeline.csv", "maven-pipeline", "1.region=HQ", "1.owner=admin"),
    }
    return outputs


def _won(**filters) -> Decimal:
    return (Opportunity.objects.filter(stage__code="won", **filters).aggregate(s=Sum("amount"))["s"]
            or Decimal("0"))


def test_headline_figures_and_reimport(org, maven):
    assert "8800 rows, 0 rejected" in maven["pipeline"], maven["pipeline"]
    assert Product.objects.filter(source_system="maven").count() == 7
    assert set(ProductLine.objects.filter(source_system="maven").values_list("code", flat=True)) == {
        "MV-GTX", "MV-MG", "MV-GTK"}
    assert Opportunity.objects.count() == 8800

    result = funnel(user=org.admin)
    by_code = {row.stage.code: row for row in result.rows}
    assert by_code["won"].count == 4238
    assert by_code["lost"].count == 2473
    assert by_code["relationship"].count == 1589  # Engaging
    assert by_code["obtained"].count == 500  # Prospecting
    assert sum(row.count for row in result.rows) == 8800
    assert by_code["won"].amount == Decimal("10005534")
    assert by_code["lost"].amount == Decimal("0")

    # Won value per product: GTXPro in the pipeline is the product GTX Pro.
    per_product = dict(OpportunityLine.objects.filter(opportunity__stage__code="won")
                       .values_list("product__name").annotate(s=Sum("amount")))
    assert per_product == {
        "GTX Pro": Decimal("3510578"), "GTX Plus Pro": Decimal("2629651"), "MG Advanced": Decimal("2216387"),
        "GTX Plus Basic": Decimal("705275"), "GTX Basic": Decimal("499263"), "GTK 500": Decimal("400612"),
        "MG Special": Decimal("43768"),
    }
    # Won value per regional office: the agents' units sit under the offices' units.
    offices = {u.name: u for u in OrgUnit.objects.filter(code__in=["MV-West", "MV-Central", "MV-East"])}
    assert {name: _won(owner_unit__path__startswith=unit.path) for name, unit in offices.items()} == {
        "West": Decimal("3568647"), "Central": Decimal("3346293"), "East": Decimal("3090594")}
    # Per manager (a team unit under its office).
    assert _won(owner_unit__code="MV-melvin.marxen") == Decimal("2251930")
    assert _won(owner_unit__code="MV-dustin.brinkmann") == Decimal("1094363")
    # Top account by won value.
    assert _won(account__external_id="Kan-code", account__source_system="maven") == Decimal("341455")

    # The 1,425 open deals without an account are on the one placeholder account.
    placeholder = Account.objects.get(source_system="maven", external_id="maven-no-account")
    assert Opportunity.objects.filter(account=placeholder).count() == 1425
    assert not Opportunity.objects.filter(account=placeholder).exclude(stage__kind="open").exists()

    # Back-dated history: a won deal entered "relationship" on engage_date and "won" on close_date.
    deal = Opportunity.objects.get(external_id="1C1I7A6R")
    history = list(OpportunityStageChange.objects.filter(opportunity=deal).order_by("changed_at", "id")
                   .values_list("to_stage__code", "changed_at__date"))
    assert [(code, day.isoformat()) for code, day in history] == [("relationship", "2016-10-20"),
                                                                   ("won", "2017-03-01")]
    assert deal.closed_on.isoformat() == "2017-03-01"
    assert deal.owner.username == "moses.frase"
    assert deal.owner_unit_id == deal.owner.unit_id
    # Mean sales cycle of won deals (close - engage): 51.78 days, the won deals' completed "relationship" stays.
    cycle = (OpportunityStageChange.objects.filter(opportunity__stage__code="won", to_stage__code="relationship")
             .aggregate(avg=Avg("seconds_in_stage"))["avg"])
    assert float(cycle) / 86400 == pytest.approx(51.78, abs=0.005)
    # Every opportunity's amount is its line.
    mismatched = [o for o in Opportunity.objects.annotate(total=Sum("lines__amount")).values("amount", "total")
                  if o["amount"] != o["total"]]
    assert mismatched == []

    # Importing the pipeline again adds nothing and changes nothing.
    before = (Opportunity.objects.count(), OpportunityStageChange.objects.count(), OpportunityLine.objects.count(),
              Account.objects.count())
    again = _import("sales_pipeline.csv", "maven-pipeline", "1.region=HQ", "1.owner=admin")
    assert "8800 rows, 0 rejected" in again, again
    assert "created" not in again and "updated" not in again, again
    assert (Opportunity.objects.count(), OpportunityStageChange.objects.count(), OpportunityLine.objects.count(),
            Account.objects.count()) == before

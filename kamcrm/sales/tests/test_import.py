"""Product lines, products and opportunities through the import framework: fields, matching, back-dated
history, stage words, the stage's required fields and per-row permissions."""
from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from kamcrm.exchange.import_services import import_job_create
from kamcrm.exchange.importing import import_job_run
from kamcrm.exchange.models import ImportJob, ImportRowError
from kamcrm.products import services as product_services
from kamcrm.products.models import Product, ProductLine
from kamcrm.sales.models import Opportunity, OpportunityStageChange

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _import_dir(settings, tmp_path):
    settings.KAMCRM_IMPORT_DIR = tmp_path


def run(text: str, steps: list[dict], *, by=None, dry_run: bool = False) -> ImportJob:  # noqa: ANN001
    data = io.BytesIO(text.encode("utf-8"))
    job = import_job_create(by=by, file=data, file_name="f.csv", steps=steps, source_system="crm2",
                            dry_run=dry_run, enqueue=False)
    return import_job_run(job.pk)


def errors(job: ImportJob) -> list[tuple[int, str, str]]:
    return [(e.line, e.column, e.kind) for e in ImportRowError.objects.filter(job=job).order_by("line", "id")]


def columns(*names: str, **extra) -> list[dict]:
    fields = {n: {"column": n} for n in names}
    fields.update(extra)
    return [{"entity": "opportunity", "fields": fields}]


@pytest.fixture
def catalogue(db):
    line = product_services.product_line_create(code="5G", name="5G 专网")
    product = product_services.product_create(line=line, code="5G-PN", name="5G 专网（虚拟专网）",
                                              list_price=Decimal("1000"))
    return product


# --- product lines and products ----------------------------------------------------------------------


PRODUCTS = "series,product,price,unit\nGTX,GTX Basic,550,台\nGTX,GTX Pro,4821,台\nMG,MG Special,55,台\n"
PRODUCT_STEPS = [
    {"entity": "product_line", "fields": {"code": {"column": "series"}, "name": {"column": "series"}},
     "options": {"collapse_duplicates": True}},
    {"entity": "product", "fields": {"line": {"column": "series", "by": "code"}, "code": {"column": "product"},
                                     "name": {"column": "product"}, "list_price": {"column": "price"},
                                     "unit": {"column": "unit"}, "external_id": {"column": "product"}}},
]


def test_products_and_lines_import_and_match_by_code(org):
    job = run(PRODUCTS, PRODUCT_STEPS, by=org.bizmgmt)
    assert job.status == "done", job.error_message
    assert errors(job) == []
    assert set(ProductLine.objects.values_list("code", flat=True)) == {"GTX", "MG"}
    pro = Product.objects.get(code="GTX Pro")
    assert (pro.line.code, pro.list_price, pro.unit, pro.external_id) == ("GTX", Decimal("4821"), "台", "GTX Pro")
    again = run(PRODUCTS.replace("4821", "4900"), PRODUCT_STEPS, by=org.admin)
    assert again.counts["1"] == {"updated": 1, "unchanged": 2}
    assert Product.objects.count() == 3
    assert Product.objects.get(code="GTX Pro").list_price == Decimal("4900")


def test_product_import_needs_the_line_and_refuses_a_negative_price(org):
    job = run("code,name,price\nX1,X,-5\nX2,Y,3\n", [{"entity": "product", "fields": {
        "code": {"column": "code"}, "name": {"column": "name"}, "list_price": {"column": "price"}}}], by=org.admin)
    assert errors(job) == [(2, "price", "invalid"), (3, "line", "missing")]
    assert not Product.objects.exists()


@pytest.mark.parametrize("persona", ["rep", "manager", "dept_head", "marketing", "exec_"])
def test_only_administrators_and_business_management_import_the_catalogue(org, persona):
    with pytest.raises(PermissionDenied):
        run(PRODUCTS, PRODUCT_STEPS, by=getattr(org, persona))
    assert not ProductLine.objects.exists()


# --- opportunities -------------------------------------------------------------------------------------


def test_stage_by_code_or_chinese_or_english_name_and_default_probability(org, catalogue):
    text = ("external_id,name,account,owner,stage,expected_close_date\n"
            f"o1,A,{org.acct.name},rep,商务谈判,2026-12-31\n"
            f"o2,B,{org.acct.name},rep.,Relationship built,\n"
            f"o3,C,{org.acct.name},rep,ASSIGNED,\n"
            f"o4,D,{org.acct.name},rep,,\n"
            f"o5,E,{org.acct.name},rep,闭关,\n")
    job = run(text.replace("rep.,", "rep,"), columns("external_id", "name", "account", "owner", "stage",
                                                     "expected_close_date"))
    assert errors(job) == [(6, "stage", "reference")]
    got = {o.external_id: (o.stage.code, o.probability, o.owner_unit_id) for o in Opportunity.objects.all()}
    assert got == {"o1": ("negotiation", 70, org.team_e1.pk), "o2": ("relationship", 40, org.team_e1.pk),
                   "o3": ("assigned", 20, org.team_e1.pk), "o4": ("obtained", 5, org.team_e1.pk)}
    assert OpportunityStageChange.objects.count() == 4


def test_a_stage_s_required_fields_are_reported_in_the_dry_run(org):
    text = (f"external_id,name,account,owner,stage,lost_reason\no1,A,{org.acct.name},rep,lost,\n"
            f"o2,B,{org.acct.name},rep,negotiation,\no3,C,{org.acct.name},rep,lost,太贵\n")
    job = run(text, columns("external_id", "name", "account", "owner", "stage", "lost_reason"), dry_run=True)
    assert errors(job) == [(2, "lost_reason", "missing"), (3, "expected_close_date", "missing")]
    job = run(text, columns("external_id", "name", "account", "owner", "stage", "lost_reason"))
    assert list(Opportunity.objects.values_list("external_id", "stage__code", "lost_reason")) == [("o3", "lost", "太贵")]


def test_a_product_makes_the_line_and_the_amount(org, catalogue):
    text = ("external_id,name,account,owner,product,quantity,unit_price,amount\n"
            f"o1,A,{org.acct.name},rep,5G-PN,3,900,\n"
            f"o2,B,{org.acct.name},rep,5G 专网（虚拟专网）,,,2500\n"
            f"o3,C,{org.acct.name},rep,5G-PN,,,\n"
            f"o4,D,{org.acct.name},rep,5G-PN,2,900,1000\n"
            f"o5,E,{org.acct.name},rep,,,,777\n")
    job = run(text, columns("external_id", "name", "account", "owner", "product", "quantity", "unit_price", "amount"))
    assert errors(job) == [(5, "amount", "invalid")]
    got = {o.external_id: (o.amount, [(ln.quantity, ln.unit_price) for ln in o.lines.all()])
           for o in Opportunity.objects.prefetch_related("lines")}
    assert got == {"o1": (Decimal("2700"), [(Decimal("3"), Decimal("900"))]),
                   "o2": (Decimal("2500"), [(Decimal("1"), Decimal("2500"))]),
                   "o3": (Decimal("1000"), [(Decimal("1"), Decimal("1000"))]),  # the list price
                   "o5": (Decimal("777"), [])}


def test_history_is_back_dated_and_reimport_is_unchanged_then_moves(org, catalogue):
    text = ("id,name,account,owner,stage,obtained,since,amount,product\n"
            f"o1,A,{org.acct.name},rep,won,2025-01-10,2025-03-01,5000,5G-PN\n"
            f"o2,B,{org.acct.name},rep,relationship,2025-02-01,,,5G-PN\n"
            f"o3,C,{org.acct.name},rep,relationship,2025-02-01,2025-01-01,,\n")
    steps = columns("name", "account", "owner", "stage", "amount", "product", external_id={"column": "id"},
                    created_date={"column": "obtained"}, stage_date={"column": "since"},
                    created_stage={"value": "created"})
    job = run(text, steps)
    assert errors(job) == [(4, "obtained", "invalid")]
    won = Opportunity.objects.get(external_id="o1")
    history = [(c.to_stage.code, c.changed_at.date().isoformat(), c.seconds_in_stage)
               for c in won.stage_changes.order_by("changed_at", "id")]
    assert history == [("created", "2025-01-10", 50 * 86400), ("won", "2025-03-01", None)]
    assert (won.closed_on.isoformat(), won.probability, won.amount) == ("2025-03-01", 100, Decimal("5000"))
    engaged = Opportunity.objects.get(external_id="o2")
    assert [(c.to_stage.code, c.changed_at.date().isoformat()) for c in engaged.stage_changes.all()] == [
        ("relationship", "2025-02-01")]

    again = run(text, steps)
    assert again.counts["0"] == {"unchanged": 2}
    assert OpportunityStageChange.objects.count() == 3

    moved = run(text.replace("relationship,2025-02-01,,,", "lost,2025-02-01,2025-04-01,,"), steps)
    assert moved.counts["0"] == {"unchanged": 1, "updated": 1}
    engaged.refresh_from_db()
    assert (engaged.stage.code, engaged.closed_on.isoformat(), engaged.probability) == ("lost", "2025-04-01", 0)
    assert [c.to_stage.code for c in engaged.stage_changes.order_by("changed_at", "id")] == ["relationship", "lost"]


def test_rows_without_an_external_id_match_by_account_and_name(org):
    text = f"name,account,owner,amount\n专线扩容,{org.acct.name},rep,100\n"
    run(text, columns("name", "account", "owner", "amount"))
    job = run(text.replace("100", "150"), columns("name", "account", "owner", "amount"))
    assert job.counts["0"] == {"updated": 1}
    assert list(Opportunity.objects.values_list("name", "amount")) == [("专线扩容", Decimal("150"))]


def test_an_opportunity_stays_with_its_account(org):
    steps = columns("external_id", "name", "account", "owner")
    run(f"external_id,name,account,owner\no1,A,{org.acct.name},rep\n", steps)
    job = run(f"external_id,name,account,owner\no1,A,{org.other.name},rep\n", steps)
    assert errors(job) == [(2, "account", "invalid")]


def test_per_row_permissions_as_for_accounts(org):
    steps = columns("external_id", "name", "account", "owner")
    text = ("external_id,name,account,owner\n"
            f"o1,mine,{org.acct.name},rep\n"
            f"o2,theirs,{org.other.name},rep\n"
            f"o3,for the outsider,{org.acct.name},outsider\n"
            f"o4,for the peer,{org.acct.name},peer\n")
    job = run(text, steps, by=org.rep)
    assert errors(job) == [(3, "account", "permission"), (4, "owner", "permission"), (5, "owner", "permission")]
    assert list(Opportunity.objects.values_list("external_id", flat=True)) == ["o1"]
    # The manager may give an opportunity to anyone in their team; the administrator to anyone.
    job = run(text, steps, by=org.manager)
    assert errors(job) == [(3, "account", "permission"), (4, "owner", "permission")]
    job = run(text, steps, by=org.admin)
    assert errors(job) == []
    assert Opportunity.objects.count() == 4
    # An existing opportunity on an account the importer may not edit is not changed either.
    job = run("external_id,name\no2,renamed\n", columns("external_id", "name"), by=org.rep)
    assert errors(job) == [(2, "account", "permission")]
    assert Opportunity.objects.get(external_id="o2").name == "theirs"


def test_bulk_written_opportunities_keep_what_the_services_write(org, catalogue):
    """New rows are written in bulk; the result is what opportunity_create + opportunity_move write."""
    from django.contrib.contenttypes.models import ContentType

    from kamcrm.audit.models import ObjectChange, TimelineEvent
    from kamcrm.webhooks.models import OutboxEvent, WebhookSubscription

    WebhookSubscription.objects.create(name="bi", target_url="https://bi.example.com/hook",
                                       event_types=["opportunity.stage_changed"])
    text = ("id,name,account,owner,stage,obtained,since,product,quantity\n"
            f"o1,A,{org.acct.name},peer,won,2025-01-10,2025-03-01,5G-PN,2\n"
            f"o2,B,{org.acct.name},rep,assigned,,2025-02-01,,\n")
    steps = columns("name", "account", "owner", "stage", "product", "quantity", external_id={"column": "id"},
                    created_date={"column": "obtained"}, stage_date={"column": "since"})
    job = run(text, steps, by=org.manager)
    assert errors(job) == []
    won = Opportunity.objects.get(external_id="o1")
    assert (won.owner_unit_id, won.amount, won.probability, won.stage.code, won.closed_on.isoformat()) == (
        org.team_e1.pk, Decimal("2000"), 100, "won", "2025-03-01")
    assert won.source_system == "crm2"
    entries = list(won.stage_changes.order_by("changed_at", "id").values_list(
        "from_stage__code", "to_stage__code", "probability", "amount", "changed_by", "owner", "owner_unit"))
    assert entries == [(None, "obtained", 5, Decimal("2000"), org.manager.pk, org.peer.pk, org.team_e1.pk),
                       ("obtained", "won", 100, Decimal("2000"), org.manager.pk, org.peer.pk, org.team_e1.pk)]
    ct = ContentType.objects.get_for_model(Opportunity)
    audit = list(ObjectChange.objects.filter(content_type=ct, object_id=won.pk).order_by("id")
                 .values_list("action", "channel", "job_id", "actor"))
    assert audit == [("create", "import", job.job_id, org.manager.pk), ("update", "import", job.job_id, org.manager.pk)]
    update = ObjectChange.objects.get(content_type=ct, object_id=won.pk, action="update").changes
    assert update["probability"] == [5, 100] and update["closed_on"][0] is None
    kinds = list(TimelineEvent.objects.filter(content_type=ct, object_id=won.pk).order_by("occurred_at", "id")
                 .values_list("kind", "data__to"))
    assert ("stage_change", "obtained") in kinds and ("stage_change", "won") in kinds
    assert ("record_created", None) in kinds
    assert [(e.payload["from_stage"], e.payload["to_stage"]) for e in OutboxEvent.objects.all()] == [
        ("obtained", "won")]
    # created directly in its stage: one entry, on the stage date, no webhook (as opportunity_create)
    assigned = Opportunity.objects.get(external_id="o2")
    assert [(c.to_stage.code, c.changed_at.date().isoformat()) for c in assigned.stage_changes.all()] == [
        ("assigned", "2025-02-01")]
    assert (assigned.probability, assigned.amount, assigned.closed_on) == (20, Decimal("0"), None)

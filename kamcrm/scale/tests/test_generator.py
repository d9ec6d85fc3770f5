"""The scale generator at a tiny scale: the counts it promises, the invariants the services keep, the
skews, determinism, the command's refusal, and the account pages on the skewed account."""
import datetime as dt
from collections import Counter, defaultdict
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, F
from django.urls import reverse

from kamcrm.audit.models import TimelineEvent
from kamcrm.audit.timeline import kind_order
from kamcrm.core.validators import validate_credit_code
from kamcrm.customers import search
from kamcrm.customers.models import Account, Contact
from kamcrm.customers.tests.test_search_index import assert_index_holds
from kamcrm.org.choices import Role
from kamcrm.org.models import OrgUnit, User
from kamcrm.products.models import Product, ProductLine, ProductPlan
from kamcrm.sales.models import (
    FunnelRollup,
    Opportunity,
    OpportunityLine,
    OpportunityStageChange,
    PipelineRollup,
    Stage,
)
from kamcrm.scale.digest import MODELS, data_digest
from kamcrm.scale.generator import BIG_TABLES, SKEW_ACCOUNT_EXT, generate, orm_baseline, sizes_for
from kamcrm.scale.loader import pending_indexes_file, secondary_indexes
from kamcrm.scale.management.commands.generate import Command

SCALE = 0.0005
TODAY = dt.date(2026, 11, 27)
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _plain_http(settings):
    settings.SECURE_SSL_REDIRECT = False


def build(seed=1, chunk=700):
    # A small chunk so that every table is written in several transactions.
    return generate(scale=SCALE, seed=seed, today=TODAY, chunk=chunk, analyze=False)


def wipe():
    """Remove every generated row without signals (raw deletes, children first), and the funnel and
    pipeline roll-ups the generator built from them."""
    for rollup in (FunnelRollup.objects.all(), PipelineRollup.objects.all()):
        rollup._raw_delete(rollup.db)
    OrgUnit.objects.update(head=None)
    User.objects.update(manager=None)
    Account.objects.update(parent=None)
    for model in reversed(MODELS):
        qs = model.objects.all()
        qs._raw_delete(qs.db)


def indexes():
    return {m._meta.db_table: secondary_indexes(m._meta.db_table) for m in BIG_TABLES}


def test_counts_invariants_and_skews():
    sizes = sizes_for(SCALE)
    before = indexes()
    assert all(before.values())
    result = build()
    # The secondary indexes dropped for the load are all back, as they were.
    assert indexes() == before
    assert not pending_indexes_file().exists()
    counts = {t.label: t.rows for t in result.tables}
    assert Account.objects.count() == counts["accounts"] == sizes.accounts
    assert Contact.objects.count() == counts["contacts"] == sizes.contacts
    assert Opportunity.objects.count() == counts["opportunities"] == sizes.opportunities
    assert TimelineEvent.objects.count() == counts["timeline events"] == sizes.timeline
    assert User.objects.count() == counts["users"] == sizes.users
    assert OpportunityStageChange.objects.count() == counts["stage history"]
    assert OpportunityLine.objects.count() == counts["opportunity lines"]
    assert ProductLine.objects.exists() and Product.objects.exists() and ProductPlan.objects.exists()

    # The organisation: path/depth as org_unit_create computes them, four levels, heads and managers.
    units = {u.pk: u for u in OrgUnit.objects.all()}
    for u in units.values():
        expected = (units[u.parent_id].path if u.parent_id else "") + f"{u.pk:06d}."
        assert (u.path, u.depth) == (expected, expected.count(".") - 1)
        assert u.head_id is not None
        assert User.objects.get(pk=u.head_id).unit_id == u.pk
    assert {u.depth for u in units.values()} == {0, 1, 2, 3}
    assert set(User.objects.values_list("role", flat=True)) == set(Role.values)
    assert User.objects.filter(manager__isnull=True).count() == 1  # the executive at the top
    assert User.objects.filter(is_superuser=True).count() == 1

    # Accounts: owner_unit = owner's unit; groups; credit codes valid and unique.
    assert not Account.objects.exclude(owner_unit=F("owner__unit")).exists()
    assert Account.objects.filter(parent__isnull=False).count() >= 2
    assert not Account.objects.filter(parent__parent__isnull=False).exists()
    codes = [c for c in Account.objects.values_list("credit_code", flat=True) if c]
    assert len(codes) == len(set(codes)) > sizes.accounts * 0.8
    for code in codes:
        validate_credit_code(code)

    # Opportunities: last history row = current stage, durations on completed stays, amount = lines.
    assert not Opportunity.objects.exclude(owner_unit=F("owner__unit")).exists()
    assert not Opportunity.objects.exclude(owner=F("account__owner")).exists()
    history = defaultdict(list)
    for h in OpportunityStageChange.objects.order_by("changed_at", "id"):
        history[h.opportunity_id].append(h)
    line_sums = defaultdict(Decimal)
    for opp_id, amount in OpportunityLine.objects.values_list("opportunity_id", "amount"):
        line_sums[opp_id] += amount
    stages_seen = Counter()
    for o in Opportunity.objects.all():
        rows = history[o.pk]
        assert 2 <= len(rows) <= 5
        assert rows[-1].to_stage_id == o.stage_id and rows[-1].changed_at == o.stage_entered_at
        assert rows[0].from_stage_id is None
        for before, after in zip(rows, rows[1:], strict=False):
            assert after.from_stage_id == before.to_stage_id
            assert before.left_at == after.changed_at
            assert before.seconds_in_stage == (after.changed_at - before.changed_at).total_seconds() > 0
        assert rows[-1].left_at is None and rows[-1].seconds_in_stage is None
        assert all(h.owner_unit_id == o.owner_unit_id for h in rows)
        assert line_sums[o.pk] == o.amount
        assert o.probability == o.stage.default_probability
        assert (o.closed_on is not None) == (o.stage.kind != "open")
        stages_seen[o.stage_id] += 1
    assert set(stages_seen) == set(Stage.objects.values_list("pk", flat=True))
    assert TimelineEvent.objects.filter(kind="stage_change").count() == OpportunityStageChange.objects.count()
    assert set(TimelineEvent.objects.values_list("kind", flat=True)) <= set(kind_order())

    # The skews.
    skewed = Account.objects.get(external_id=SKEW_ACCOUNT_EXT)
    assert skewed.pk == result.skew_account_id
    assert skewed.owner.role == Role.ACCOUNT_MANAGER and skewed.owner.username != result.skew_owner_username
    assert skewed.contacts.count() == sizes.skew_contacts
    assert skewed.timeline.exclude(kind="stage_change").count() == sizes.skew_activities
    top = Account.objects.values("owner").annotate(n=Count("id")).order_by("-n").first()
    assert User.objects.get(pk=top["owner"]).username == result.skew_owner_username
    assert top["n"] >= sizes.skew_owner_accounts
    busiest = Contact.objects.values("account").annotate(n=Count("id")).order_by("-n").first()
    assert busiest["account"] == skewed.pk

    # The name search index: rebuilt set-based after the load, equal to what the triggers write, and
    # the triggers back for the writes that follow.
    assert search.installed()
    assert_index_holds()


def test_flat_shape_gives_every_account_one_contact_and_three_opportunities():
    sizes = sizes_for(SCALE, flat=True)
    result = generate(scale=SCALE, flat=True, seed=1, today=TODAY, chunk=700, analyze=False)
    assert Account.objects.count() == sizes.accounts == 500
    per_account = Account.objects.annotate(c=Count("contacts", distinct=True), o=Count("opportunities", distinct=True))
    assert Counter((a.c, a.o) for a in per_account) == {(1, 3): sizes.accounts}
    # No skewed owner: nobody holds more than a fair share of the accounts.
    top = Account.objects.values("owner").annotate(n=Count("id")).order_by("-n").first()
    assert top["n"] < sizes.accounts / 10
    # The timeline holds the opportunities' stage changes and nothing else.
    assert set(TimelineEvent.objects.values_list("kind", flat=True)) == {"stage_change"}
    assert TimelineEvent.objects.count() == OpportunityStageChange.objects.count() == \
        {t.label: t.rows for t in result.tables}["timeline events"]
    assert Account.objects.filter(external_id=SKEW_ACCOUNT_EXT).exists()  # the bench's fixed point is there
    assert_index_holds()


def test_same_seed_same_data_other_seed_other_data():
    build(seed=3)
    first = data_digest()
    wipe()
    assert not Account.objects.exists()
    build(seed=3, chunk=5000)  # chunking does not change the data
    assert data_digest() == first
    wipe()
    build(seed=4)
    assert data_digest() != first


def test_account_pages_render_for_the_skewed_account(client):
    result = build()
    admin = User.objects.get(username="scale_admin")
    client.force_login(admin)
    skewed = Account.objects.get(pk=result.skew_account_id)
    page = client.get(reverse("customers:account", args=[skewed.pk]))
    assert page.status_code == 200
    assert skewed.name in page.content.decode()
    listing = client.get(reverse("customers:account_list"))
    assert listing.status_code == 200
    timeline = client.get(reverse("customers:account_timeline", args=[skewed.pk]))
    assert timeline.status_code == 200


def test_command_refuses_a_database_with_accounts_and_reports_the_baseline(capsys):
    call_command(Command(), "--scale", str(SCALE), "--today", TODAY.isoformat(), "--baseline", "20", "--no-analyze")
    out = capsys.readouterr().out
    assert "ORM baseline" in out and "accounts" in out and "rows/s" in out
    before = Account.objects.count()
    with pytest.raises(CommandError, match="already"):
        call_command(Command(), "--scale", str(SCALE), "--force")  # the scale organisation exists
    wipe()
    build()
    OrgUnit.objects.filter(code="SC").update(code="SC-renamed")  # now only "accounts exist" stands in the way
    with pytest.raises(CommandError, match="--force"):
        call_command(Command(), "--scale", str(SCALE))
    assert Account.objects.count() == before


def test_orm_baseline_leaves_nothing_behind():
    build()
    before = (Account.objects.count(), TimelineEvent.objects.count())
    figures = orm_baseline(rows=10)
    assert figures["rows"] == 10 and figures["rows_per_second"] > 0
    assert (Account.objects.count(), TimelineEvent.objects.count()) == before


def test_interrupted_run_gets_its_indexes_back(monkeypatch):
    from kamcrm.scale import generator

    before = indexes()

    def boom(ctx):
        raise RuntimeError("killed")

    monkeypatch.setattr(generator, "STEPS", [*generator.STEPS[:3], ("boom", boom)])
    # An exception: finish() rebuilds them at once.
    with pytest.raises(RuntimeError, match="killed"):
        build()
    assert indexes() == before and not pending_indexes_file().exists()
    # A kill (no finally): the pending file brings them back on the next run.
    monkeypatch.setattr(generator.Loader, "rebuild_indexes", lambda self: 0)
    wipe()
    with pytest.raises(RuntimeError, match="killed"):
        build()
    assert indexes() != before and pending_indexes_file().exists()
    monkeypatch.undo()
    wipe()
    build()
    assert indexes() == before and not pending_indexes_file().exists()


def test_bench_runner_smoke(tmp_path, monkeypatch):
    """bench/run.py on the tiny set (two repetitions), so the harness cannot rot unnoticed."""
    import importlib.util
    import json
    import sys
    from pathlib import Path

    build()
    path = Path(__file__).resolve().parents[3] / "bench" / "run.py"
    spec = importlib.util.spec_from_file_location("bench_run", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "result.json"
    monkeypatch.setattr(sys, "argv", ["run.py", "--reps", "2", "--out", str(out)])
    module.main()
    result = json.loads(out.read_text(encoding="utf-8"))
    ops = result["operations"]
    # Every operation is measured once for each of the three personas (the deep keyset page is named
    # after its number, which depends on how many rows the persona sees).
    def kind(name: str) -> str:
        return "account list, filtered, deep page" if name.startswith("account list, filtered, last page") \
            or name == "account list, filtered, page 1,000" else name

    names = {kind(o["operation"]) for o in ops}
    assert {(kind(o["operation"]), o["persona"]) for o in ops} == {
        (op, who) for op in names for who in ("executive", "manager", "rep")}
    assert len(ops) == 3 * len(names)
    assert {"account list, page 1", "account list, filtered, page 1", "account list, filtered, deep page",
            "account 360, normal", "account 360, skewed", "search page, common term",
            "autocomplete (suggest), rare term", "account lookup (picker), rare term", "API account list",
            "API account detail", "API opportunity list", "API opportunity detail"} <= names
    share = {o["persona"]: o["visible_share"] for o in ops}
    assert share["executive"] == 1.0 and 0 < share["rep"] < share["manager"] < 1
    for o in ops:
        assert o["page"]["p95_ms"] > 0 and o["baseline"]["p95_ms"] > 0 and o["page"]["queries"] > 0
    assert result["settings"] and result["goals"]
    # The baseline SQL returns the rows the page shows, in the same order, for every persona.
    from django.db import connection

    from kamcrm.customers.selectors import account_list

    baselines = importlib.import_module("bench.baselines")
    skewed = Account.objects.get(external_id=SKEW_ACCOUNT_EXT)
    for username in ("scale_exec", "scale_head_b01", skewed.owner.username):
        user = User.objects.get(username=username)
        (sql, params), = baselines.account_page(user)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            baseline_ids = [row[0] for row in cursor.fetchall()][: baselines.PAGE_SIZE]
        page_ids = [a.pk for a in account_list(user=user, page_size=baselines.PAGE_SIZE).items]
        assert baseline_ids == page_ids and page_ids
        (one, one_params), (timeline, timeline_params), *_ = baselines.account_360(user, skewed.pk)
        with connection.cursor() as cursor:
            cursor.execute(one, one_params)
            assert cursor.fetchone()[0] == skewed.pk
            cursor.execute(timeline, timeline_params)
            assert len(cursor.fetchall()) == baselines.TIMELINE_PAGE + 1


def test_without_foreign_key_checks_and_with_indexes_kept_the_data_is_the_same():
    build(seed=5)
    first = data_digest()
    wipe()
    generate(scale=SCALE, seed=5, today=TODAY, chunk=700, analyze=False, fk_checks=False, defer_indexes=False)
    assert data_digest() == first
    assert not Account.objects.exclude(owner_unit=F("owner__unit")).exists()

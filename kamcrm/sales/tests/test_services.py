"""Opportunity services: creation with lines, stage moves with exit criteria and required fields,
the stage history, the timeline and webhook, and the funnel (now and as of a past date)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from kamcrm.audit.models import TimelineEvent
from kamcrm.customers import services as customer_services
from kamcrm.products import services as product_services
from kamcrm.sales import services
from kamcrm.sales.models import Opportunity, OpportunityStageChange, Stage
from kamcrm.sales.selectors import funnel
from kamcrm.webhooks.models import OutboxEvent, WebhookSubscription

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue():
    line = product_services.product_line_create(code="5G", name="5G 专网")
    return product_services.product_create(line=line, code="5G-PN", name="5G 专网套餐", list_price=Decimal("12000.00"),
                                           unit="套")


def stage(code: str) -> Stage:
    return Stage.objects.get(code=code)


def _create(org, **extra):
    return services.opportunity_create(by=org.rep, account=org.acct, name="园区 5G 专网", owner=org.rep, **extra)


def test_a_new_opportunity_starts_in_the_first_stage_with_its_default_probability(org):
    opportunity = _create(org)
    assert opportunity.stage.code == "obtained" and opportunity.probability == 5
    assert opportunity.owner_unit_id == org.rep.unit_id
    entry = OpportunityStageChange.objects.get(opportunity=opportunity)
    assert (entry.from_stage, entry.to_stage.code, entry.changed_by) == (None, "obtained", org.rep)
    assert TimelineEvent.objects.filter(account=org.acct, kind="stage_change").count() == 1


def test_lines_make_the_amount(org, catalogue):
    opportunity = _create(org, lines=[{"product": catalogue, "quantity": 3},
                                      {"product": catalogue, "quantity": 1, "unit_price": "9999.99"}])
    assert opportunity.amount == Decimal("45999.99")
    with pytest.raises(ValidationError) as caught:
        services.opportunity_update(opportunity=opportunity, data={"amount": Decimal("1")}, by=org.rep)
    assert "amount" in caught.value.message_dict


def test_leaving_a_stage_forwards_checks_its_exit_criteria_and_names_what_is_missing(org, catalogue):
    opportunity = _create(org, stage=stage("relationship"))
    with pytest.raises(ValidationError) as caught:
        services.opportunity_move(opportunity=opportunity, stage=stage("negotiation"), by=org.rep)
    assert "at least one contact involved" in caught.value.message_dict["stage"][0]
    opportunity.refresh_from_db()
    assert opportunity.stage.code == "relationship"
    assert OpportunityStageChange.objects.filter(opportunity=opportunity).count() == 1


def test_entering_a_stage_checks_its_required_fields(org):
    opportunity = _create(org)
    with pytest.raises(ValidationError) as caught:
        services.opportunity_move(opportunity=opportunity, stage=stage("lost"), by=org.rep)
    assert "lost_reason" in caught.value.message_dict
    services.opportunity_move(opportunity=opportunity, stage=stage("lost"), by=org.rep, lost_reason="价格高于竞品")
    assert opportunity.closed_on == timezone.localdate() and opportunity.probability == 0


def test_moves_are_kept_with_who_when_and_the_amount_then(org, catalogue):
    WebhookSubscription.objects.create(name="bi", target_url="https://bi.example.com/hook",
                                       event_types=["opportunity.stage_changed"], secret="s" * 32)
    contact = customer_services.contact_create(account=org.acct, name="王经理")
    opportunity = _create(org, lines=[{"product": catalogue, "quantity": 2}], contacts=[contact],
                          expected_close_date=dt.date(2026, 12, 31))
    t0 = opportunity.stage_entered_at
    for code in ("created", "relationship", "negotiation", "won"):
        services.opportunity_move(opportunity=opportunity, stage=stage(code), by=org.manager,
                                  at=opportunity.stage_entered_at + dt.timedelta(days=2))
    history = list(OpportunityStageChange.objects.filter(opportunity=opportunity).order_by("changed_at"))
    assert [h.to_stage.code for h in history] == ["obtained", "created", "relationship", "negotiation", "won"]
    assert all(h.amount == Decimal("24000.00") for h in history)
    assert [h.seconds_in_stage for h in history] == [2 * 86400] * 4 + [None]
    assert history[-1].changed_at == t0 + dt.timedelta(days=8) and history[-1].changed_by == org.manager
    events = list(OutboxEvent.objects.filter(type="opportunity.stage_changed").order_by("id"))
    assert len(events) == 4 and events[-1].payload["to_stage"] == "won" and events[-1].payload["from_stage"] == "negotiation"
    assert Opportunity.objects.get(pk=opportunity.pk).closed_on is not None


def test_the_funnel_counts_amounts_weights_and_conversion(org, catalogue):
    a = _create(org, amount=Decimal("100"))
    b = _create(org, amount=Decimal("300"), stage=stage("created"))
    c = _create(org, amount=Decimal("500"), stage=stage("created"))
    services.opportunity_move(opportunity=c, stage=stage("won"), by=org.rep)
    result = {row.stage.code: row for row in funnel(user=org.rep).rows}
    assert (result["obtained"].count, result["obtained"].amount, result["obtained"].weighted) == (1, 100, Decimal("5.00"))
    assert (result["created"].count, result["created"].amount) == (1, 300)
    assert (result["won"].count, result["won"].amount) == (1, 500)
    # reached: obtained 3 (everyone got at least that far), created 2 (b, c), won 1 (c)
    assert (result["obtained"].reached, result["created"].reached, result["won"].reached) == (3, 2, 1)
    assert result["obtained"].conversion == round(2 / 3, 4)
    assert {a.pk, b.pk, c.pk} == set(Opportunity.objects.values_list("pk", flat=True))
    # Someone who may not see the account sees an empty funnel.
    assert sum(row.count for row in funnel(user=org.outsider).rows) == 0


def test_the_pipeline_of_a_past_date_is_rebuilt_from_the_history(org):
    day = dt.timedelta(days=1)
    start = timezone.now() - 10 * day
    a = _create(org, amount=Decimal("100"), entered_at=start)
    b = _create(org, amount=Decimal("200"), entered_at=start + day)
    services.opportunity_move(opportunity=a, stage=stage("created"), by=org.rep, at=start + 3 * day)
    snapshot = {row.stage.code: (row.count, row.amount) for row in funnel(user=org.rep).rows if row.count}
    as_of = timezone.localdate(start + 4 * day)
    services.opportunity_update(opportunity=b, data={"amount": Decimal("999")}, by=org.rep)
    services.opportunity_move(opportunity=b, stage=stage("assigned"), by=org.rep, at=start + 6 * day)
    services.opportunity_move(opportunity=a, stage=stage("lost"), by=org.rep, lost_reason="预算取消", at=start + 7 * day)
    rebuilt = {row.stage.code: (row.count, row.amount) for row in funnel(user=org.rep, as_of=as_of).rows if row.count}
    assert rebuilt == snapshot == {"obtained": (1, 200), "created": (1, 100)}
    before_anything = funnel(user=org.rep, as_of=timezone.localdate(start - day))
    assert sum(row.count for row in before_anything.rows) == 0


def test_the_owner_must_be_someone_the_author_may_assign(org):
    with pytest.raises(ValidationError) as caught:
        services.opportunity_create(by=org.rep, account=org.acct, name="x", owner=org.outsider)
    assert "owner" in caught.value.message_dict


# ---- collaborators ----------------------------------------------------------------------------------

def _collaborator_changes(opportunity) -> list:
    from django.contrib.contenttypes.models import ContentType

    from kamcrm.audit.models import ObjectChange

    rows = ObjectChange.objects.filter(content_type=ContentType.objects.get_for_model(Opportunity),
                                       object_id=opportunity.pk, changes__has_key="collaborators").order_by("id")
    return [(row.action, row.actor_id, row.changes["collaborators"]) for row in rows]


def test_collaborators_from_any_unit_are_set_changed_and_cleared_and_each_change_is_audited(org):
    from kamcrm.core.context import Channel, change_context

    with change_context(channel=Channel.SHELL, actor=org.rep):
        # given: a colleague of the rep's team and a partner user
        opportunity = _create(org, collaborators=[org.peer, org.partner, org.peer])
        assert set(opportunity.collaborators.all()) == {org.peer, org.partner}
        # when: one from another branch replaces the colleague, then everyone is removed
        services.opportunity_update(opportunity=opportunity, by=org.rep,
                                    data={"collaborators": [org.partner, org.outsider]})
        assert set(opportunity.collaborators.all()) == {org.partner, org.outsider}
        services.opportunity_update(opportunity=opportunity, by=org.rep, data={"name": "改名"})  # left out: kept
        services.opportunity_update(opportunity=opportunity, by=org.rep,
                                    data={"collaborators": [org.outsider, org.partner]})  # the same set: no change
        assert opportunity.collaborators.count() == 2
        services.opportunity_update(opportunity=opportunity, by=org.rep, data={"collaborators": []})
    # then: one audit row per change, with the ids before and after, and on the account's timeline
    assert not opportunity.collaborators.exists()
    peer, partner, outsider = org.peer.pk, org.partner.pk, org.outsider.pk
    assert _collaborator_changes(opportunity) == [
        ("update", org.rep.pk, [[], sorted([peer, partner])]),
        ("update", org.rep.pk, [sorted([peer, partner]), sorted([partner, outsider])]),
        ("update", org.rep.pk, [sorted([partner, outsider]), []]),
    ]
    events = TimelineEvent.objects.filter(account=org.acct, kind="field_change", object_id=opportunity.pk)
    assert sum("collaborators" in e.data["changes"] for e in events) == 3


def test_an_inactive_user_cannot_be_added_as_a_collaborator_but_one_who_left_stays(org):
    from kamcrm.org import services as org_services

    org_services.user_update(user=org.partner, data={"is_active": False})
    # refused on creation, naming the field and the person; nothing is written
    with pytest.raises(ValidationError) as caught:
        _create(org, collaborators=[org.peer, org.partner])
    assert list(caught.value.message_dict) == ["collaborators"]
    assert "no longer active: partner" in caught.value.message_dict["collaborators"][0]
    assert not Opportunity.objects.exists()
    # refused when added later, and nothing changes
    opportunity = _create(org, collaborators=[org.peer])
    with pytest.raises(ValidationError) as caught:
        services.opportunity_update(opportunity=opportunity, by=org.rep,
                                    data={"name": "新名字", "collaborators": [org.peer, org.partner]})
    assert "collaborators" in caught.value.message_dict
    opportunity.refresh_from_db()
    assert opportunity.name == "园区 5G 专网" and list(opportunity.collaborators.all()) == [org.peer]
    # someone who leaves after being added stays until removed: saving other changes still works
    org_services.user_update(user=org.peer, data={"is_active": False})
    services.opportunity_update(opportunity=opportunity, by=org.rep,
                                data={"name": "新名字", "collaborators": [org.peer, org.outsider]})
    assert set(opportunity.collaborators.all()) == {org.peer, org.outsider}
    services.opportunity_update(opportunity=opportunity, by=org.rep, data={"collaborators": [org.outsider]})
    assert list(opportunity.collaborators.all()) == [org.outsider]

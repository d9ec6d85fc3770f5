"""Target plans through their services: top-down decomposition keeps children + unallocated = parent in
every month and metric (or flags the plan out of balance until rebalanced), splits by shares are exact to
the cent with the remainder stated, approval locks, and changes after approval make an audited new version."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kamcrm.audit.models import ObjectChange
from kamcrm.targets import services
from kamcrm.targets.choices import PlanStatus, RebalanceMode, ReviewAction
from kamcrm.targets.models import Metric, TargetLine, TargetPlan

pytestmark = pytest.mark.django_db
D = Decimal
YEAR = 2026
FUZZ = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                       HealthCheck.too_slow])


class Rollback(Exception):
    """Raised at the end of each Hypothesis example so its rows go away with the savepoint."""


def in_savepoint(check):
    try:
        with transaction.atomic():
            check()
            raise Rollback
    except Rollback:
        pass


@pytest.fixture
def metrics(db):
    services.metric_defaults_ensure()
    return {m.code: m for m in Metric.objects.all()}


def tree(org):
    """node → its children in the personas' organisation (units, then the team's people)."""
    return {org.hq: [org.east, org.west], org.east: [org.sales_east, org.mkt_east], org.sales_east: [org.team_e1],
            org.team_e1: [org.manager, org.rep, org.peer], org.west: [org.sales_west]}


def assert_balanced_or_flagged(plan):
    """Every split line: children + unallocated == the line, unless it is flagged out of balance."""
    assert services.balance_problems(plan=plan) == []
    for line in TargetLine.objects.filter(plan=plan, is_unallocated=True):
        assert line.amount >= 0


def assert_exactly_balanced(plan):
    assert not TargetLine.objects.filter(plan=plan, out_of_balance=True).exists()
    sums = services._children_sums(list(TargetLine.objects.filter(plan=plan, is_unallocated=True)
                                        .values_list("parent_id", flat=True)))
    for parent_id, total in sums.items():
        assert TargetLine.objects.get(pk=parent_id).amount == total


def test_split_by_shares_is_exact_and_states_the_remainder():
    split = services.split_by_shares(D("100.00"), {"a": 1, "b": 1, "c": 1})
    assert split.parts == {"a": D("33.33"), "b": D("33.33"), "c": D("33.33")}
    assert split.remainder == D("0.01")
    counts = services.split_by_shares(D("10"), {"a": 2, "b": 1}, quantum=D("1"))
    assert counts.parts == {"a": D("6"), "b": D("3")} and counts.remainder == D("1")
    assert services.split_by_shares(D("5"), {"a": 0}).remainder == D("5.00")


@given(amount=st.integers(0, 10**12), weights=st.lists(st.integers(0, 10**6), min_size=1, max_size=12))
def test_split_by_shares_always_adds_up(amount, weights):
    value = D(amount) / 100
    split = services.split_by_shares(value, dict(enumerate(weights)))
    assert sum(split.parts.values(), D(0)) + split.remainder == value
    assert all(p >= 0 for p in split.parts.values()) and split.remainder >= 0
    assert split.remainder < D("0.01") * max(1, len(weights)) or sum(weights) == 0


def test_decompose_keeps_unallocated_and_refuses_over_allocation(org, metrics):
    metric = metrics["expected_revenue"]
    plan = services.plan_create(year=YEAR, by=org.bizmgmt)
    services.target_set(plan=plan, metric=metric, node=org.hq, amounts=[D("1000")] * 12, by=org.bizmgmt)
    services.target_decompose(plan=plan, metric=metric, parent=org.hq,
                              children={org.east: [D("600")] * 12, org.west: {1: D("300")}}, by=org.bizmgmt)
    assert services.unallocated_of(plan=plan, metric=metric, node=org.hq) == [D("100")] + [D("400")] * 11
    with pytest.raises(ValidationError) as exc:
        services.target_decompose(plan=plan, metric=metric, parent=org.hq, children={org.west: {2: D("401")}},
                                  by=org.bizmgmt)
    assert "exceed" in str(exc.value)
    # a child edited from its own node re-splits its parent
    services.target_set(plan=plan, metric=metric, node=org.west, amounts={2: D("400")}, by=org.bizmgmt)
    assert services.unallocated_of(plan=plan, metric=metric, node=org.hq)[1] == D("0")
    # children must sit directly below the parent
    with pytest.raises(ValidationError):
        services.target_decompose(plan=plan, metric=metric, parent=org.hq, children={org.team_e1: [D("1")] * 12})
    assert_exactly_balanced(plan)


def test_a_parent_changed_after_its_split_is_flagged_until_rebalanced(org, metrics):
    metric = metrics["expected_revenue"]
    plan = services.plan_create(year=YEAR)
    services.target_set(plan=plan, metric=metric, node=org.hq, amounts=[D("900")] * 12)
    services.target_decompose_by_shares(plan=plan, metric=metric, parent=org.hq, shares={org.east: 2, org.west: 1})
    services.target_decompose_by_shares(plan=plan, metric=metric, parent=org.east,
                                        shares={org.sales_east: 1, org.mkt_east: 0})
    services.target_set(plan=plan, metric=metric, node=org.hq, amounts={3: D("600")})
    flagged = TargetLine.objects.filter(plan=plan, out_of_balance=True)
    assert [(line.node, line.month) for line in flagged] == [(f"u{org.hq.pk}", 3)]
    with pytest.raises(ValidationError):  # the children (900) exceed 600: the difference cannot go to unallocated
        services.target_rebalance(plan=plan, metric=metric, mode=RebalanceMode.UNALLOCATED)
    with pytest.raises(ValidationError):  # nor is an unbalanced plan submitted
        services.plan_submit(plan=plan)
    services.target_rebalance(plan=plan, metric=metric, mode=RebalanceMode.SHARES)
    values = services.lines_by_node(plan=plan, metric=metric, nodes=[f"u{org.east.pk}", f"u{org.sales_east.pk}"])
    assert values[f"u{org.east.pk}"][2] == D("400") and values[f"u{org.sales_east.pk}"][2] == D("400")
    assert_exactly_balanced(plan)


NODE = st.integers(0, 20)
MONTH = st.integers(1, 12)
OPS = st.lists(st.one_of(
    st.tuples(st.just("set"), NODE, MONTH, st.integers(0, 2 * 10**6)),
    st.tuples(st.just("split"), NODE, st.lists(st.integers(0, 4 * 10**5), min_size=1, max_size=3)),
    st.tuples(st.just("shares"), NODE, st.lists(st.integers(0, 5), min_size=1, max_size=3)),
    st.tuples(st.just("rebalance"), st.sampled_from(list(RebalanceMode.values)), st.booleans()),
), max_size=12)


@FUZZ
@given(ops=OPS, count=st.booleans(), start_split=st.booleans())
def test_any_sequence_of_decompositions_and_edits_balances_or_is_flagged(org, metrics, ops, count, start_split):
    metric = metrics["visits" if count else "expected_revenue"]
    children = tree(org)
    parents = list(children)
    nodes = [org.hq, *[c for kids in children.values() for c in kids]]
    scale = D(1) if count else D("0.01")

    def check():
        plan = services.plan_create(year=YEAR)
        services.target_set(plan=plan, metric=metric, node=org.hq, amounts=[D(10**6) * scale] * 12)
        if start_split:  # start from a plan split all the way down, or from the company's figures alone
            for parent in parents:
                services.target_decompose_by_shares(plan=plan, metric=metric, parent=parent,
                                                    shares=dict.fromkeys(children[parent], 1))
        for op in ops:
            try:
                if op[0] == "set":
                    node = nodes[op[1] % len(nodes)]
                    services.target_set(plan=plan, metric=metric, node=node, amounts={op[2]: D(op[3]) * scale})
                elif op[0] == "split":
                    parent = parents[op[1] % len(parents)]
                    kids = children[parent][:len(op[2])]
                    services.target_decompose(plan=plan, metric=metric, parent=parent,
                                              children={k: [D(a) * scale] * 12 for k, a in zip(kids, op[2], strict=False)})
                elif op[0] == "shares":
                    parent = parents[op[1] % len(parents)]
                    kids = children[parent][:len(op[2])]
                    services.target_decompose_by_shares(plan=plan, metric=metric, parent=parent,
                                                        shares=dict(zip(kids, op[2], strict=False)))
                else:
                    services.target_rebalance(plan=plan, metric=metric, mode=op[1],
                                              unit=org.east if op[2] else None)
            except ValidationError:
                pass  # refused writes leave the plan as it was
            assert_balanced_or_flagged(plan)
        services.target_rebalance(plan=plan, metric=metric, mode=RebalanceMode.SHARES)
        assert_exactly_balanced(plan)

    in_savepoint(check)


def test_approval_per_level_locks_and_a_later_edit_makes_an_audited_version(org, metrics):
    metric = metrics["expected_revenue"]
    plan = services.plan_create(year=YEAR, by=org.bizmgmt)
    services.target_set(plan=plan, metric=metric, node=org.hq, amounts=[D("1000")] * 12, by=org.bizmgmt)
    services.target_decompose(plan=plan, metric=metric, parent=org.hq, children={org.east: [D("800")] * 12},
                              by=org.bizmgmt)
    services.target_decompose(plan=plan, metric=metric, parent=org.east, children={org.sales_east: [D("800")] * 12},
                              by=org.bizmgmt)
    services.target_decompose(plan=plan, metric=metric, parent=org.sales_east, children={org.team_e1: [D("800")] * 12},
                              by=org.dept_head)
    services.target_decompose_by_shares(plan=plan, metric=metric, parent=org.team_e1,
                                        shares={org.rep: 1, org.peer: 1}, by=org.manager)
    with pytest.raises(ValidationError):  # a rep plans nothing
        services.target_set(plan=plan, metric=metric, node=org.rep, amounts={1: D("1")}, by=org.rep)
    with pytest.raises(ValidationError):  # a head splits their unit's target, but does not set it
        services.target_set(plan=plan, metric=metric, node=org.sales_east, amounts={1: D("900")}, by=org.dept_head)
    with pytest.raises(ValidationError):  # nor does a manager outside their subtree
        services.target_decompose(plan=plan, metric=metric, parent=org.hq, children={org.west: [D("1")] * 12},
                                  by=org.manager)
    # the team's split goes up a level, is sent back with a comment, and comes back
    services.plan_submit(plan=plan, unit=org.team_e1, comment="团队拆分", by=org.manager)
    with pytest.raises(ValidationError):
        services.plan_send_back(plan=plan, unit=org.team_e1, comment="", by=org.dept_head)
    services.plan_send_back(plan=plan, unit=org.team_e1, comment="rep too high", by=org.dept_head)
    plan.refresh_from_db()
    assert plan.status == PlanStatus.SENT_BACK
    assert services.level_status(plan=plan, unit=org.team_e1) == ReviewAction.SEND_BACK
    services.target_set(plan=plan, metric=metric, node=org.rep, amounts=[D("300")] * 12, by=org.manager)
    services.plan_submit(plan=plan, unit=org.team_e1, by=org.manager)
    services.plan_approve(plan=plan, unit=org.team_e1, comment="ok", by=org.dept_head)
    with pytest.raises(ValidationError):  # the top level is not the department head's
        services.plan_approve(plan=plan, by=org.dept_head)
    services.plan_submit(plan=plan, by=org.bizmgmt)
    with pytest.raises(ValidationError):  # submitted: no changes until sent back
        services.target_set(plan=plan, metric=metric, node=org.hq, amounts={1: D("1")}, by=org.bizmgmt)
    services.plan_approve(plan=plan, comment="批准", by=org.bizmgmt)
    plan.refresh_from_db()
    assert plan.status == PlanStatus.APPROVED and plan.approved_by == org.bizmgmt
    approved = {(line.node, line.month, line.is_unallocated): line.amount for line in plan.lines.all()}

    # an edit after approval: a new version with the change; the approved one unchanged
    new = services.target_set(plan=plan, metric=metric, node=org.rep, amounts={5: D("350")}, by=org.manager)
    assert new.pk != plan.pk and new.version == 2 and new.supersedes_id == plan.pk
    assert new.status == PlanStatus.DRAFT
    assert {(line.node, line.month, line.is_unallocated): line.amount for line in plan.lines.all()} == approved
    team = services.unallocated_of(plan=new, metric=metric, node=org.team_e1)
    assert team[4] == D("800") - D("350") - D("400") and team[0] == D("100")
    assert_exactly_balanced(new)
    audited = ObjectChange.objects.filter(content_type__model="targetline")
    assert audited.filter(object_id__in=new.lines.values("pk"), action="create").count() == new.lines.count()
    assert audited.filter(action="update", changes__has_key="amount").exists()
    # the approved version is not edited twice over: its next version is
    with pytest.raises(ValidationError):
        services.target_set(plan=plan, metric=metric, node=org.rep, amounts={6: D("1")}, by=org.manager)
    assert TargetPlan.objects.filter(year=YEAR).count() == 2

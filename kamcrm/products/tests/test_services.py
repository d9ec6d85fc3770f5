"""Who may maintain the catalogue, upserts by external id and saving the plan grid."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from kamcrm.org.tests.test_visibility import ROLE_MATRIX
from kamcrm.products import services
from kamcrm.products.models import Product, ProductPlan
from kamcrm.products.selectors import can_maintain_catalogue, plan_grid

pytestmark = pytest.mark.django_db

MAINTAINERS = {"admin", "bizmgmt"}


@pytest.mark.parametrize("name", ROLE_MATRIX)
def test_only_administrators_and_business_management_maintain_the_catalogue(org, name):
    user = getattr(org, "exec_" if name == "exec" else name)
    assert can_maintain_catalogue(user) == (name in MAINTAINERS)
    if name in MAINTAINERS:
        services.catalogue_require(user=user)
    else:
        with pytest.raises(PermissionDenied):
            services.catalogue_require(user=user)


def test_an_inactive_or_anonymous_user_may_not(org):
    from django.contrib.auth.models import AnonymousUser

    assert not can_maintain_catalogue(AnonymousUser())
    org.bizmgmt.is_active = False
    assert not can_maintain_catalogue(org.bizmgmt)


def test_upserts_create_then_update_by_external_id(db):
    line, created = services.product_line_upsert(source_system="erp", external_id="L1", data={"code": "IDC",
                                                                                             "name": "IDC"})
    assert created
    again, created = services.product_line_upsert(source_system="erp", external_id="L1", data={"name": "数据中心"})
    assert (again.pk, again.name, created) == (line.pk, "数据中心", False)
    product, created = services.product_upsert(source_system="erp", external_id="P1",
                                               data={"line": line, "code": "IDC-R", "name": "机柜"})
    assert created
    product, created = services.product_upsert(source_system="erp", external_id="P1",
                                               data={"list_price": Decimal("8800")})
    assert not created and Product.objects.get(pk=product.pk).list_price == Decimal("8800.00")


def test_the_plan_grid_sets_changes_and_clears_cells_all_or_nothing(org):
    line = services.product_line_create(code="5G", name="5G 专网")
    cell = {"line": line, "region": org.east}
    assert services.product_plan_apply(year=2027, entries=[{**cell, "priority": "focus",
                                                            "target_amount": Decimal("1000000")}], by=org.bizmgmt) == 1
    # the same entry again changes nothing
    assert services.product_plan_apply(year=2027, entries=[{**cell, "priority": "focus",
                                                            "target_amount": Decimal("1000000")}], by=org.bizmgmt) == 0
    # one bad cell: nothing is saved, the error names the cell and field
    with pytest.raises(ValidationError) as caught:
        services.product_plan_apply(year=2027, by=org.admin, entries=[
            {**cell, "priority": "grow"}, {"line": line, "region": org.west, "priority": "bogus"}])
    assert list(caught.value.message_dict) == [f"{line.pk}_{org.west.pk}.priority"]
    assert ProductPlan.objects.get(year=2027).priority == "focus"
    # an empty priority takes the line out of the region's plan
    assert services.product_plan_apply(year=2027, entries=[{**cell, "priority": ""}], by=org.admin) == 1
    assert not ProductPlan.objects.exists()
    with pytest.raises(PermissionDenied):
        services.product_plan_apply(year=2027, entries=[{**cell, "priority": "grow"}], by=org.rep)


def test_the_grid_has_active_lines_and_regions_plus_what_is_planned(org):
    active = services.product_line_create(code="A", name="云")
    old = services.product_line_create(code="B", name="旧业务", is_active=False)
    services.product_line_create(code="C", name="停用无规划", is_active=False)
    services.product_plan_set(year=2027, line=old, region=org.west, priority="exit")
    grid = plan_grid(year=2027)
    assert grid.lines == [active, old]
    assert grid.regions == [org.east, org.west]
    assert grid.cells[(old.pk, org.west.pk)].priority == "exit"

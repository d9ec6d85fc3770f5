"""An export holds exactly the rows the user may see, role by role and grant by grant."""
import datetime as dt

import pytest
from django.utils import timezone

from kamcrm.customers import services as customer_services
from kamcrm.exchange.tests.helpers import ids_in_csv, xlsx_sheet
from kamcrm.org import services as org_services
from kamcrm.org.tests.test_visibility import ROLE_MATRIX

URL = "/exchange/export/accounts.csv"


def persona(org, name):
    return getattr(org, "exec_" if name == "exec" else name)


@pytest.mark.parametrize("name", ROLE_MATRIX)
def test_it_exports_exactly_the_accounts_each_role_may_see(org, client_for, name):
    # given
    sees_acct, sees_other = ROLE_MATRIX[name][:2]
    expected = {pk for pk, seen in ((org.acct.pk, sees_acct), (org.other.pk, sees_other)) if seen}
    # when
    response = client_for(persona(org, name)).get(URL)
    # then
    assert response.status_code == 200
    assert ids_in_csv(response) == expected


@pytest.mark.parametrize("name", ["rep", "outsider", "peer"])
def test_it_applies_visibility_to_xlsx_and_contacts_through_the_api(org, api_for, name):
    # given
    customer_services.contact_create(account=org.acct, name="张伟")
    customer_services.contact_create(account=org.other, name="李娜")
    sees_acct, sees_other = ROLE_MATRIX[name][:2]
    expected = {n for n, seen in (("张伟", sees_acct), ("李娜", sees_other)) if seen}
    # when
    response = api_for(persona(org, name)).get("/api/v1/exports/contacts.xlsx")
    # then
    assert response.status_code == 200
    names = {row[1] for row in xlsx_sheet(response).iter_rows(min_row=2, values_only=True)}
    assert names == expected


def test_it_includes_accounts_granted_through_the_account_team(org, client_for):
    # given
    today = timezone.localdate()
    customer_services.team_member_add(account=org.other, user=org.peer, access="read",
                                      valid_from=today - dt.timedelta(days=1), valid_to=today + dt.timedelta(days=1))
    # when
    response = client_for(org.peer).get(URL)
    # then
    assert ids_in_csv(response) == {org.other.pk}


def test_it_includes_accounts_granted_through_a_sharing_rule(org, client_for):
    # given
    org_services.sharing_rule_create(name="西部客户共享给华东", source_unit=org.west, target_unit=org.east, access="read")
    # when
    response = client_for(org.marketing).get(URL)
    # then
    assert ids_in_csv(response) == {org.other.pk}

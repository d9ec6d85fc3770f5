"""Exports through the UI and the API: filters, sort, the log, refusals and the log page."""
import pytest
from django.core.signals import request_finished
from django.db import close_old_connections
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from kamcrm.customers import services as customer_services
from kamcrm.exchange.export_views import export_download
from kamcrm.exchange.models import ExportLog
from kamcrm.exchange.tests.helpers import body, csv_dicts, xlsx_sheet


@pytest.fixture
def accounts(org):
    """Three more of the rep's accounts: 2 strategic, 1 normal, plus acct (key)."""
    make = customer_services.account_create
    return [make(name="北京燕山能源", region=org.east, owner=org.rep, tier="strategic", industry="energy"),
            make(name="安徽江淮汽车", region=org.east, owner=org.rep, tier="strategic", industry="manufacturing"),
            make(name="杭州西湖酒店", region=org.east, owner=org.rep, tier="normal", industry="hospitality")]


def names(response) -> list[str]:
    return [row["Name"] for row in csv_dicts(response)]


def test_it_applies_the_lists_filters_and_sort(org, client_for, accounts):
    client = client_for(org.rep)
    # when
    strategic = names(client.get("/exchange/export/accounts.csv?tier=strategic"))
    reverse_sorted = names(client.get("/exchange/export/accounts.csv?tier=strategic&tier=key&sort=-name"))
    manufacturing = names(client.get("/exchange/export/accounts.csv?industry=manufacturing&q=汽车"))
    # then
    assert strategic == sorted(["北京燕山能源", "安徽江淮汽车"])
    assert reverse_sorted == sorted(["北京燕山能源", "安徽江淮汽车", "上海浦江制造有限公司"], reverse=True)
    assert manufacturing == ["安徽江淮汽车"]


def test_it_exports_every_row_not_one_page(org, client_for, accounts):
    # given: a cursor copied from the list page is ignored
    response = client_for(org.rep).get("/exchange/export/accounts.csv?cursor=garbage")
    # then
    assert len(names(response)) == 4


def test_it_logs_who_exported_what_and_how_many_rows(org, client_for, accounts):
    # when
    response = client_for(org.rep).get("/exchange/export/accounts.xlsx?tier=strategic&sort=-name")
    sheet = xlsx_sheet(response)
    # then
    assert sheet.max_row == 3
    log = ExportLog.objects.get()
    assert (log.user, log.username, log.entity, log.format, log.channel) == (org.rep, "rep", "accounts", "xlsx", "ui")
    assert log.filters == {"tier": "strategic"}
    assert log.sort == "-name"
    assert log.row_count == 2
    assert log.completed is True
    assert log.duration_ms >= 0 and log.finished_at >= log.started_at


def test_it_logs_the_csv_when_the_stream_ends(org, client_for, accounts):
    # given
    response = client_for(org.rep).get("/exchange/export/accounts.csv?tier=strategic&tier=normal")
    assert not ExportLog.objects.exists()  # nothing streamed yet
    # when
    body(response)
    # then
    log = ExportLog.objects.get()
    assert log.row_count == 3 and log.format == "csv"
    assert log.filters == {"tier": ["strategic", "normal"]}


def test_it_logs_a_download_cut_off_midway(org, rf, accounts):
    # given: the view's own response (the test client would close it for us)
    request = rf.get("/exchange/export/accounts.csv")
    request.user = org.rep
    response = export_download(request, "accounts", "csv")
    stream = iter(response.streaming_content)
    # when: the client goes away after the first piece, and the server closes the response
    next(stream)
    request_finished.disconnect(close_old_connections)  # keep the test's database connection open
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)
    # then
    log = ExportLog.objects.get()
    assert log.completed is False


def test_it_answers_400_naming_the_bad_filter_and_logs_nothing(org, client_for):
    client = client_for(org.rep)
    # when
    bad_tier = client.get("/exchange/export/accounts.csv?tier=gold")
    bad_sort = client.get("/exchange/export/accounts.xlsx?sort=credit")
    bad_attr = client.get("/exchange/export/contacts.csv?attr_nothing=1")
    # then
    assert bad_tier.status_code == 400
    assert b"tier" in bad_tier.content and b"gold" in bad_tier.content
    assert bad_sort.status_code == 400 and b"sort" in bad_sort.content
    assert bad_attr.status_code == 400 and b"attr_nothing" in bad_attr.content
    assert not ExportLog.objects.exists()


def test_it_refuses_an_export_over_the_row_cap(org, client_for, accounts, settings):
    # given
    settings.KAMCRM_EXPORT_MAX_ROWS = 3
    client = client_for(org.rep)
    # when
    refused = client.get("/exchange/export/accounts.csv")
    narrowed = client.get("/exchange/export/accounts.csv?tier=strategic")
    # then
    assert refused.status_code == 400
    assert "more than 3 rows" in refused.content.decode()
    assert narrowed.status_code == 200 and len(names(narrowed)) == 2
    assert ExportLog.objects.count() == 1


def test_it_answers_404_for_an_unknown_entity_or_format(org, client_for):
    client = client_for(org.rep)
    assert client.get("/exchange/export/planets.csv").status_code == 404
    assert client.get("/exchange/export/accounts.pdf").status_code == 404


def test_it_sends_anonymous_users_to_the_login_page(db, client):
    response = client.get("/exchange/export/accounts.csv?tier=key")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_api_answers_401_to_anonymous_callers(db):
    response = APIClient().get("/api/v1/exports/accounts.csv")
    assert response.status_code == 401
    assert not ExportLog.objects.exists()


def test_the_api_exports_with_a_token_and_logs_the_channel(org, accounts):
    # given
    token = Token.objects.create(user=org.rep)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    # when
    response = api.get("/api/v1/exports/accounts.csv?tier=strategic")
    # then
    assert response.status_code == 200
    assert len(names(response)) == 2
    log = ExportLog.objects.get()
    assert (log.channel, log.user, log.row_count) == ("api", org.rep, 2)


def test_the_api_answers_400_with_the_field_named(org, api_for):
    response = api_for(org.rep).get("/api/v1/exports/accounts.xlsx?tier=gold")
    assert response.status_code == 400
    assert "tier" in response.json()["errors"]
    assert not ExportLog.objects.exists()


@pytest.mark.parametrize(("url", "entity"), [("/accounts/", "accounts"), ("/accounts/contacts/", "contacts")])
def test_the_list_pages_offer_an_export_with_their_filters(org, client_for, url, entity):
    # when
    page = client_for(org.rep).get(url + "?q=浦江&sort=-name&cursor=abc").content.decode()
    # then
    assert f'href="/exchange/export/{entity}.csv?q=%E6%B5%A6%E6%B1%9F&amp;sort=-name"' in page
    assert f'href="/exchange/export/{entity}.xlsx?q=%E6%B5%A6%E6%B1%9F&amp;sort=-name"' in page


def test_administrators_see_the_export_log(org, client_for, accounts):
    # given
    client_for(org.rep).get("/exchange/export/accounts.xlsx?tier=strategic")
    client = client_for(org.admin)
    body(client.get("/exchange/export/contacts.csv"))
    # when
    page = client.get(reverse("exchange:export_log"))
    only_rep = client.get(reverse("exchange:export_log") + "?username=rep")
    # then
    assert page.status_code == 200
    assert page.content.decode().count('data-testid="export-log-row"') == 2
    assert only_rep.content.decode().count('data-testid="export-log-row"') == 1
    assert "tier=strategic" in only_rep.content.decode()


def test_the_export_log_pages_by_keyset(org, client_for):
    # given
    for _ in range(3):
        body(client_for(org.rep).get("/exchange/export/accounts.csv"))
    client = client_for(org.admin)
    # when
    from kamcrm.exchange import export_views
    export_views.PAGE_SIZE, saved = 2, export_views.PAGE_SIZE
    try:
        first = client.get(reverse("exchange:export_log"))
        cursor = first.context["page"].next_cursor
        second = client.get(reverse("exchange:export_log") + f"?cursor={cursor}")
    finally:
        export_views.PAGE_SIZE = saved
    # then
    assert len(first.context["page"].items) == 2 and len(second.context["page"].items) == 1
    ids = [e.pk for e in first.context["page"].items + second.context["page"].items]
    assert ids == sorted(ids, reverse=True)


def test_others_may_not_see_the_export_log(org, client_for):
    assert client_for(org.rep).get(reverse("exchange:export_log")).status_code == 403


def test_the_export_log_shows_an_empty_state_and_refuses_bad_filters(org, client_for):
    client = client_for(org.admin)
    assert 'data-testid="empty"' in client.get(reverse("exchange:export_log")).content.decode()
    assert client.get(reverse("exchange:export_log") + "?format=pdf").status_code == 400


def test_the_django_admin_shows_the_log_read_only(org, client_for, accounts):
    # given
    body(client_for(org.rep).get("/exchange/export/accounts.csv"))
    log = ExportLog.objects.get()
    client = client_for(org.admin)
    # when / then
    assert client.get("/admin/exchange/exportlog/").status_code == 200
    assert client.get(f"/admin/exchange/exportlog/{log.pk}/change/").status_code == 200
    assert client.get("/admin/exchange/exportlog/add/").status_code == 403
    assert client.post(f"/admin/exchange/exportlog/{log.pk}/delete/", {"post": "yes"}).status_code == 403
    assert ExportLog.objects.filter(pk=log.pk).exists()

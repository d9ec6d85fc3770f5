"""Attachments UI: the panel on the agreement page, upload, download (UTF-8 name), delete with its
confirmation; who may do what (404 for those who cannot see the agreement, and for writes by those who
may only read it); the panel's query count."""
from __future__ import annotations

from urllib.parse import quote

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kamcrm.attachments import services
from kamcrm.attachments.models import Attachment
from kamcrm.attachments.tests.conftest import PDF, stored_files, upload

pytestmark = pytest.mark.django_db


def page_url(agreement) -> str:
    return reverse("agreements:agreement", args=[agreement.pk])


def add_url(agreement) -> str:
    return reverse("attachments:attachment_add", args=["agreement", agreement.pk])


def list_url(agreement) -> str:
    return reverse("attachments:attachment_list", args=["agreement", agreement.pk])


def download_url(att) -> str:
    return reverse("attachments:attachment_download", args=[att.pk])


def delete_url(att) -> str:
    return reverse("attachments:attachment_delete", args=[att.pk])


def test_the_agreement_page_shows_an_empty_panel_with_the_upload_form(client_for, org, agreement):
    response = client_for(org.rep).get(page_url(agreement))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="attachments"' in html and "No attachments yet." in html
    assert 'enctype="multipart/form-data"' in html and 'data-testid="attachment-upload"' in html
    assert "csrfmiddlewaretoken" in html


def test_upload_and_download_round_trip_with_a_chinese_name(client_for, org, agreement, media):
    client = client_for(org.rep)
    # when
    response = client.post(add_url(agreement), {"file": upload("盖章合同 2026.pdf"), "description": "双方盖章"})
    # then
    assert response.status_code == 302 and response["Location"] == page_url(agreement) + "#attachments"
    att = Attachment.objects.get()
    page = client.get(page_url(agreement)).content.decode()
    assert "盖章合同 2026.pdf" in page and "双方盖章" in page and download_url(att) in page
    # and the download streams the same bytes under the same name
    download = client.get(download_url(att))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF
    assert download["Content-Type"] == "application/pdf"
    assert download["X-Content-Type-Options"] == "nosniff"
    disposition = download["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f"filename*=UTF-8''{quote('盖章合同 2026.pdf', safe='')}" in disposition
    assert 'filename="2026.pdf"' in disposition  # the ASCII fallback for old clients


def test_a_refused_file_comes_back_on_the_file_field_and_stores_nothing(client_for, org, agreement, media,
                                                                        settings):
    settings.KAMCRM_ATTACHMENT_MAX_BYTES = 10
    response = client_for(org.rep).post(add_url(agreement), {"file": upload()})
    assert response.status_code == 400
    assert response.context["form"].errors["file"][0].startswith("The file is ")
    assert 'data-field-error="file"' in response.content.decode()
    assert not Attachment.objects.exists() and stored_files(media) == []
    # a type not allowed, too
    response = client_for(org.rep).post(add_url(agreement), {"file": upload("tool.exe", b"MZ")})
    assert response.status_code == 400 and "cannot be attached" in response.context["form"].errors["file"][0]
    assert not Attachment.objects.exists() and stored_files(media) == []


@pytest.mark.parametrize("who", ["outsider", "peer", "service", "partner"])
def test_someone_who_cannot_see_the_agreement_gets_404_everywhere(client_for, org, agreement, media, who):
    # given
    att = services.attachment_add(owner=agreement, file=upload(), by=org.rep)
    client = client_for(getattr(org, who))
    # then
    assert client.get(list_url(agreement)).status_code == 404
    assert client.get(download_url(att)).status_code == 404
    assert client.get(add_url(agreement)).status_code == 404
    assert client.post(add_url(agreement), {"file": upload("x.pdf")}).status_code == 404
    assert client.get(delete_url(att)).status_code == 404
    assert client.post(delete_url(att)).status_code == 404
    assert Attachment.objects.filter(is_deleted=False).count() == 1 and len(stored_files(media)) == 1


def test_a_read_only_user_sees_and_downloads_but_cannot_upload_or_delete(client_for, org, agreement, media):
    # given: business management sees the rep's agreement but may not change it
    att = services.attachment_add(owner=agreement, file=upload(), by=org.rep)
    client = client_for(org.bizmgmt)
    # then
    page = client.get(page_url(agreement)).content.decode()
    assert "合同扫描件.pdf" in page
    assert 'data-testid="attachment-form"' not in page and 'data-testid="attachment-delete"' not in page
    assert client.get(download_url(att)).status_code == 200
    assert client.post(add_url(agreement), {"file": upload("x.pdf")}).status_code == 404
    assert client.post(delete_url(att)).status_code == 404
    assert Attachment.objects.filter(is_deleted=False).count() == 1 and len(stored_files(media)) == 1


def test_only_registered_kinds_have_attachment_pages(client_for, org):
    client = client_for(org.admin)
    assert client.get(reverse("attachments:attachment_list", args=["account", org.acct.pk])).status_code == 404
    assert client.get(reverse("attachments:attachment_add", args=["account", org.acct.pk])).status_code == 404


def test_delete_asks_for_confirmation_then_hides_the_attachment(client_for, org, agreement, media):
    # given
    att = services.attachment_add(owner=agreement, file=upload(), by=org.rep)
    client = client_for(org.manager)
    # when: the confirmation page changes nothing
    confirm = client.get(delete_url(att))
    assert confirm.status_code == 200 and 'data-testid="attachment-delete-confirm"' in confirm.content.decode()
    assert not Attachment.objects.get().is_deleted
    # when confirmed
    response = client.post(delete_url(att))
    # then
    assert response.status_code == 302 and response["Location"] == page_url(agreement) + "#attachments"
    page = client.get(page_url(agreement)).content.decode()
    assert "“合同扫描件.pdf” deleted." in page
    assert 'data-testid="attachment-row"' not in page and "No attachments yet." in page
    assert client.get(download_url(att)).status_code == 404
    assert client.get(delete_url(att)).status_code == 404
    assert Attachment.objects.get().is_deleted and len(stored_files(media)) == 1


def test_the_list_pages_with_load_more(client_for, org, agreement, media):
    for i in range(23):
        services.attachment_add(owner=agreement, file=upload(f"附件{i:02}.pdf"), by=org.rep)
    client = client_for(org.rep)
    assert client.get(page_url(agreement)).content.decode().count('data-testid="attachment-row"') == 20
    first = client.get(list_url(agreement))
    assert first.status_code == 200 and 'data-testid="attachment-more"' in first.content.decode()
    more = client.get(list_url(agreement), {"cursor": first.context["page"].next_cursor}, HTTP_HX_REQUEST="true")
    rows = more.content.decode()
    assert rows.count('data-testid="attachment-row"') == 3 and "<html" not in rows
    assert "附件00.pdf" in rows and 'data-testid="attachment-more"' not in rows


def test_the_panels_query_count_does_not_grow_with_its_attachments(client_for, org, agreement, media):
    client = client_for(org.rep)
    services.attachment_add(owner=agreement, file=upload("a.pdf"), by=org.rep)
    client.get(page_url(agreement))  # warm caches (content types, sessions)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(page_url(agreement)).status_code == 200
        return len(ctx.captured_queries)

    one = count()
    for i in range(8):
        services.attachment_add(owner=agreement, file=upload(f"b{i}.pdf"), by=org.peer if i % 2 else org.manager)
    assert count() == one


def test_the_upload_page_works_without_the_panel_and_without_a_description(client_for, org, agreement, media):
    client = client_for(org.rep)
    page = client.get(add_url(agreement))
    assert page.status_code == 200 and 'data-testid="attachment-form"' in page.content.decode()
    response = client.post(add_url(agreement), {"file": upload("scan.jpg", b"\xff\xd8\xff\xe0" + b"\0" * 16)})
    assert response.status_code == 302
    assert Attachment.objects.get().mime_type == "image/jpeg"

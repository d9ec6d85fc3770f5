"""Attachments API: /api/v1/agreements/<id>/attachments/ (list, upload), …/<id>/ (read, delete) and
…/<id>/download/; the same visibility as the UI (404 when the agreement is not visible, 403 for writes
by those who may only read it), errors naming the field, integration-token scopes."""
from __future__ import annotations

from urllib.parse import quote

import pytest
from django.core.cache import cache

from kamcrm.attachments import services
from kamcrm.attachments.models import Attachment
from kamcrm.attachments.tests.conftest import PDF, stored_files, upload
from kamcrm.integrations import services as integration_services

pytestmark = pytest.mark.django_db


def base(agreement) -> str:
    return f"/api/v1/agreements/{agreement.pk}/attachments/"


def test_upload_list_and_download_round_trip(api_for, org, agreement, media):
    api = api_for(org.rep)
    # when
    response = api.post(base(agreement), {"file": upload("报价单（终版）.pdf"), "description": "终版"},
                        format="multipart")
    # then
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["file_name"], body["size"], body["content_type"], body["description"]) == (
        "报价单（终版）.pdf", len(PDF), "application/pdf", "终版")
    assert body["uploaded_by"] == org.rep.pk
    listed = api.get(base(agreement)).json()
    assert [row["id"] for row in listed["results"]] == [body["id"]] and listed["next"] is None
    assert api.get(f"{base(agreement)}{body['id']}/").json()["sha256"] == body["sha256"]
    download = api.get(body["download_url"])
    assert body["download_url"] == f"{base(agreement)}{body['id']}/download/"
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF
    assert f"filename*=UTF-8''{quote('报价单（终版）.pdf', safe='')}" in download["Content-Disposition"]
    assert download["X-Content-Type-Options"] == "nosniff"


def test_a_refused_file_answers_400_naming_the_field_and_stores_nothing(api_for, org, agreement, media, settings):
    api = api_for(org.rep)
    response = api.post(base(agreement), {"file": upload("a.png")}, format="multipart")  # PDF bytes
    assert response.status_code == 400
    assert "not a .png file" in response.json()["errors"]["file"][0]
    settings.KAMCRM_ATTACHMENT_MAX_BYTES = 10
    response = api.post(base(agreement), {"file": upload()}, format="multipart")
    assert response.status_code == 400 and "at most" in response.json()["errors"]["file"][0]
    response = api.post(base(agreement), {"description": "no file"}, format="multipart")
    assert response.status_code == 400 and "file" in response.json()["errors"]
    assert not Attachment.objects.exists() and stored_files(media) == []


@pytest.mark.parametrize("who", ["outsider", "peer", "partner"])
def test_someone_who_cannot_see_the_agreement_gets_404(api_for, org, agreement, media, who):
    att = services.attachment_add(owner=agreement, file=upload(), by=org.rep)
    api = api_for(getattr(org, who))
    assert api.get(base(agreement)).status_code == 404
    assert api.post(base(agreement), {"file": upload("x.pdf")}, format="multipart").status_code == 404
    assert api.get(f"{base(agreement)}{att.pk}/").status_code == 404
    assert api.get(f"{base(agreement)}{att.pk}/download/").status_code == 404
    assert api.delete(f"{base(agreement)}{att.pk}/").status_code == 404
    assert Attachment.objects.filter(is_deleted=False).count() == 1 and len(stored_files(media)) == 1


def test_a_read_only_user_reads_but_gets_403_for_writes(api_for, org, agreement, media):
    att = services.attachment_add(owner=agreement, file=upload(), by=org.rep)
    api = api_for(org.bizmgmt)
    assert api.get(base(agreement)).status_code == 200
    assert api.get(f"{base(agreement)}{att.pk}/download/").status_code == 200
    assert api.post(base(agreement), {"file": upload("x.pdf")}, format="multipart").status_code == 403
    assert api.delete(f"{base(agreement)}{att.pk}/").status_code == 403
    assert Attachment.objects.filter(is_deleted=False).count() == 1 and len(stored_files(media)) == 1


def test_an_attachment_is_reached_only_through_its_own_agreement(api_for, org, agreement, west, media):
    att = services.attachment_add(owner=west, file=upload(), by=org.outsider)
    api = api_for(org.admin)  # sees both agreements
    assert api.get(f"{base(agreement)}{att.pk}/").status_code == 404
    assert api.get(f"{base(agreement)}{att.pk}/download/").status_code == 404
    assert api.delete(f"{base(agreement)}{att.pk}/").status_code == 404
    assert api.get(f"{base(west)}{att.pk}/").status_code == 200


def test_delete_hides_it_from_the_list_and_the_download(api_for, org, agreement, media):
    att = services.attachment_add(owner=agreement, file=upload(), by=org.rep)
    api = api_for(org.rep)
    assert api.delete(f"{base(agreement)}{att.pk}/").status_code == 204
    assert api.get(base(agreement)).json()["results"] == []
    assert api.get(f"{base(agreement)}{att.pk}/download/").status_code == 404
    assert api.delete(f"{base(agreement)}{att.pk}/").status_code == 404
    att.refresh_from_db()
    assert att.is_deleted and att.deleted_by == org.rep


def test_integration_tokens_need_read_to_list_and_write_to_upload(org, agreement, media):
    from kamcrm.api.tests.conftest import HttpsAPIClient

    cache.clear()
    integration = integration_services.integration_create(name="电子合同", code="esign", contact=org.admin)

    def bearer(scopes: str) -> HttpsAPIClient:
        _token, plain = integration_services.api_token_create(integration=integration, name=scopes, scopes=scopes,
                                                              by=org.admin)
        api = HttpsAPIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
        return api

    reader, writer = bearer("read"), bearer("read,write")
    assert reader.get(base(agreement)).status_code == 200
    refused = reader.post(base(agreement), {"file": upload()}, format="multipart")
    assert refused.status_code == 403 and "write" in refused.json()["detail"]
    assert writer.post(base(agreement), {"file": upload()}, format="multipart").status_code == 201
    att = Attachment.objects.get()
    assert reader.delete(f"{base(agreement)}{att.pk}/").status_code == 403
    assert writer.delete(f"{base(agreement)}{att.pk}/").status_code == 204
    cache.clear()


def test_the_lists_query_count_does_not_grow(api_for, org, agreement, media):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    api = api_for(org.rep)
    services.attachment_add(owner=agreement, file=upload("a.pdf"), by=org.rep)
    api.get(base(agreement))

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert api.get(base(agreement)).status_code == 200
        return len(ctx.captured_queries)

    one = count()
    for i in range(6):
        services.attachment_add(owner=agreement, file=upload(f"b{i}.pdf"), by=org.manager if i % 2 else org.peer)
    assert count() == one

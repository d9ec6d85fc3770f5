"""Attachment services: what may be attached (size, type by content, empty), the safe name, the hash,
the soft delete, and the audit entries and timeline events on the owner's account."""
from __future__ import annotations

import hashlib

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError

from kamcrm.agreements.models import Agreement
from kamcrm.attachments import files, services
from kamcrm.attachments.models import Attachment
from kamcrm.attachments.tests.conftest import PDF, PNG, ooxml, stored_files, upload
from kamcrm.audit.models import ObjectChange, TimelineEvent

pytestmark = pytest.mark.django_db


def test_it_stores_the_file_with_its_name_size_type_and_hash(org, agreement, media):
    # when
    att = services.attachment_add(owner=agreement, file=upload(), description="盖章版", by=org.rep)
    # then
    att.refresh_from_db()
    assert (att.original_name, att.size, att.mime_type) == ("合同扫描件.pdf", len(PDF), "application/pdf")
    assert att.sha256 == hashlib.sha256(PDF).hexdigest()
    assert att.owner == agreement and att.uploaded_by == org.rep and att.description == "盖章版"
    parts = att.file.name.split("/")
    assert parts[0] == "attachments" and len(parts[1]) == 4 and len(parts[2]) == 2 and len(parts[3]) == 16
    assert parts[4] == "合同扫描件.pdf"
    assert (media / att.file.name).read_bytes() == PDF


@pytest.mark.parametrize(("given", "expected"), [
    ("../../etc/合同 扫描件.pdf", "合同 扫描件.pdf"),
    ("C:\\fakepath\\报价单.xlsx", "报价单.xlsx"),
    ("..hidden.txt", "hidden.txt"),
    ('a<b>:"c|d?*.csv', "a_b___c_d__.csv"),
    ("   ", "file"),
    ("长" * 300 + ".pdf", "长" * 196 + ".pdf"),
])
def test_it_keeps_only_a_safe_last_path_part_of_the_name(given, expected):
    assert files.safe_name(given) == expected


@pytest.mark.parametrize(("name", "content", "kind"), [
    ("a.pdf", PDF, "application/pdf"), ("a.png", PNG, "image/png"), ("a.JPG", b"\xff\xd8\xff\xe0" + b"\0" * 20,
                                                                     "image/jpeg"),
    ("a.docx", ooxml("docx"), files.ALLOWED["docx"]), ("a.xlsx", ooxml("xlsx"), files.ALLOWED["xlsx"]),
    ("a.zip", ooxml("xlsx"), "application/zip"), ("a.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 20,
                                                  "application/msword"),
    ("客户名单.csv", "名称,地区\n浦江制造,上海\n".encode(), "text/csv"),
    ("说明.txt", "你好".encode("gb18030"), "text/plain"),
])
def test_it_accepts_each_allowed_type_by_its_content(org, agreement, name, content, kind):
    att = services.attachment_add(owner=agreement, file=upload(name, content, "application/octet-stream"),
                                  by=org.rep)
    assert att.mime_type == kind


@pytest.mark.parametrize(("name", "content", "message"), [
    ("virus.exe", b"MZ\x90\x00", "cannot be attached"),
    ("noextension", PDF, "no extension"),
    ("photo.png", PDF, "not a .png file"),  # the browser said image/png; the bytes say PDF
    ("report.docx", ooxml("xlsx"), "not a .docx file"),
    ("notes.txt", b"\x00\x01\x02binary", "not a .txt file"),
    ("empty.pdf", b"", "The file is empty."),
])
def test_it_refuses_a_bad_file_naming_the_field_and_stores_nothing(org, agreement, media, name, content, message):
    # when
    with pytest.raises(ValidationError) as exc:
        services.attachment_add(owner=agreement, file=upload(name, content, "image/png"), by=org.rep)
    # then
    assert message in " ".join(exc.value.message_dict["file"])
    assert not Attachment.objects.exists() and stored_files(media) == []


def test_it_refuses_a_file_over_the_size_limit(org, agreement, media, settings):
    # given
    settings.KAMCRM_ATTACHMENT_MAX_BYTES = 20
    # when
    with pytest.raises(ValidationError) as exc:
        services.attachment_add(owner=agreement, file=upload(), by=org.rep)
    # then
    assert "at most 20\xa0bytes" in exc.value.message_dict["file"][0]
    assert not Attachment.objects.exists() and stored_files(media) == []


def test_the_default_limit_is_20_megabytes(settings):
    del settings.KAMCRM_ATTACHMENT_MAX_BYTES
    assert services.max_bytes() == 20 * 1024 * 1024


def test_only_registered_kinds_of_record_take_attachments(org, media):
    with pytest.raises(ValidationError) as exc:
        services.attachment_add(owner=org.acct, file=upload(), by=org.rep)
    assert "owner" in exc.value.message_dict
    assert not Attachment.objects.exists() and stored_files(media) == []


def test_add_and_delete_are_in_the_accounts_history_and_timeline(org, agreement, media):
    # when
    att = services.attachment_add(owner=agreement, file=upload(), by=org.rep)
    services.attachment_delete(attachment=att, by=org.manager)
    # then: two audit entries on the attachment, both on the agreement's account
    changes = list(ObjectChange.objects.filter(content_type=ContentType.objects.get_for_model(Attachment),
                                               object_id=att.pk).order_by("id"))
    assert [(c.action, c.account_id, c.actor) for c in changes] == [("create", org.acct.pk, org.rep),
                                                                    ("update", org.acct.pk, org.manager)]
    assert changes[0].changes["original_name"] == [None, "合同扫描件.pdf"]
    assert changes[1].changes["is_deleted"] == [False, True]
    # and two events on the account's timeline, pointing at the agreement
    events = list(TimelineEvent.objects.filter(account=org.acct, kind__startswith="attachment_").order_by("id"))
    assert [e.kind for e in events] == ["attachment_added", "attachment_deleted"]
    assert all(e.content_type.model_class() is Agreement and e.object_id == agreement.pk for e in events)
    assert "合同扫描件.pdf" in events[0].summary and "HT-2026-001" in events[0].summary
    assert events[0].kind_label == "attachment added"


def test_delete_is_soft_and_keeps_the_file(org, agreement, media):
    # given
    att = services.attachment_add(owner=agreement, file=upload(), by=org.rep)
    # when
    services.attachment_delete(attachment=att, by=org.rep)
    services.attachment_delete(attachment=att, by=org.rep)  # twice: nothing more happens
    # then
    att.refresh_from_db()
    assert att.is_deleted and att.deleted_by == org.rep and att.deleted_at is not None
    assert (media / att.file.name).exists()
    assert ObjectChange.objects.filter(object_id=att.pk, action="update").count() == 1

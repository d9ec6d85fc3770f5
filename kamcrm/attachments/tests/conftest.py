"""Fixtures of the attachments tests: a temporary MEDIA_ROOT (no file outlives a test), an agreement of
the rep's account and one of the outsider's, and small files of each kind."""
from __future__ import annotations

import datetime as dt
import io
import zipfile
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from kamcrm.agreements import services as agreement_services
from kamcrm.products import services as product_services

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def ooxml(kind: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml" if kind == "docx" else "xl/workbook.xml", "<x/>")
    return buffer.getvalue()


def upload(name: str = "合同扫描件.pdf", content: bytes = PDF, content_type: str = "application/pdf"):
    return SimpleUploadedFile(name, content, content_type=content_type)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def stored_files(root) -> list:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.fixture
def products(db):
    line = product_services.product_line_create(code="IDC", name="数据中心")
    return [product_services.product_create(line=line, code="IDC-RACK", name="机柜租用", list_price=Decimal("8000"))]


def make_agreement(org, products, *, number: str, account, owner):
    return agreement_services.agreement_create(
        by=owner, account=account, number=number, title="机柜租用协议", owner=owner,
        start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 12, 31),
        lines=[{"product": products[0], "amount": Decimal("120000")}])


@pytest.fixture
def agreement(org, products):
    return make_agreement(org, products, number="HT-2026-001", account=org.acct, owner=org.rep)


@pytest.fixture
def west(org, products):
    return make_agreement(org, products, number="HT-WEST-1", account=org.other, owner=org.outsider)

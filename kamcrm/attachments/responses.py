"""The download response, shared by the UI and the API."""
from __future__ import annotations

import unicodedata
from urllib.parse import quote

from django.http import FileResponse

from kamcrm.attachments.models import Attachment


def content_disposition(name: str) -> str:
    """`attachment` with an ASCII `filename` for old clients and the UTF-8 name in `filename*` (RFC 6266 /
    RFC 5987), so 合同扫描件.pdf arrives as 合同扫描件.pdf."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    ascii_name = "".join(c if c.isprintable() and c not in '"\\;' else "_" for c in ascii_name).strip()
    stem, dot, ext = ascii_name.rpartition(".")
    if not ascii_name or (dot and not stem.strip("_ ")) or (not dot and not ascii_name.strip("_ ")):
        ext = name.rpartition(".")[2] if "." in name else ""
        ascii_name = f"attachment.{ext}" if ext.isascii() and ext else "attachment"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def download_response(attachment: Attachment) -> FileResponse:
    """Stream the stored file with its sniffed type, never rendered inline and never sniffed by the browser."""
    response = FileResponse(attachment.file.open("rb"), content_type=attachment.mime_type)
    response["Content-Length"] = str(attachment.size)
    response["Content-Disposition"] = content_disposition(attachment.original_name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response

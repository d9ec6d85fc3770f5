"""File names and file types: a safe display/storage name, and the type read from the file's first
bytes (the browser's Content-Type and the name's extension are not trusted on their own)."""
from __future__ import annotations

import codecs
import re
import unicodedata
import zipfile
from typing import IO

# extension → MIME type stored and served. The extension must agree with what the bytes say.
ALLOWED: dict[str, str] = {
    "pdf": "application/pdf",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "txt": "text/plain",
    "csv": "text/csv",
    "zip": "application/zip",
}
# extension → the kinds of content (as sniffed) that it may hold.
KINDS: dict[str, set[str]] = {
    "pdf": {"pdf"}, "doc": {"ole"}, "xls": {"ole"}, "docx": {"docx"}, "xlsx": {"xlsx"},
    "png": {"png"}, "jpg": {"jpeg"}, "jpeg": {"jpeg"}, "txt": {"text"}, "csv": {"text"},
    "zip": {"zip", "docx", "xlsx"},
}
HEAD_BYTES = 8192
MAX_NAME = 200
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"|?*\\/]')
_SPACES = re.compile(r"\s+")


def safe_name(name: str) -> str:
    """The last path part of `name` (either slash), in NFC, without control or reserved characters or
    leading dots, at most MAX_NAME characters with its extension kept. Chinese characters stay."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[\\/]", name)[-1]
    name = _UNSAFE.sub("_", name)
    name = _SPACES.sub(" ", name).strip().lstrip(".").strip()
    if len(name) > MAX_NAME:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            name = stem[: MAX_NAME - len(ext) - 1].rstrip() + "." + ext
        else:
            name = name[:MAX_NAME]
    return name or "file"


def extension(name: str) -> str:
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and stem else ""


def _is_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    for encoding in ("utf-8", "gb18030"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(head, final=False)
            return True
        except UnicodeDecodeError:
            continue
    return False


def _zip_kind(file: IO[bytes]) -> str | None:
    try:
        file.seek(0)
        with zipfile.ZipFile(file) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    finally:
        file.seek(0)
    if "[Content_Types].xml" in names:
        if "word/document.xml" in names:
            return "docx"
        if "xl/workbook.xml" in names:
            return "xlsx"
    return "zip"


def sniff(file: IO[bytes]) -> str | None:
    """What the file holds: pdf, png, jpeg, ole (legacy .doc/.xls), docx, xlsx, zip, text, or None."""
    file.seek(0)
    head = file.read(HEAD_BYTES)
    file.seek(0)
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "ole"
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return _zip_kind(file)
    if head and _is_text(head):
        return "text"
    return None

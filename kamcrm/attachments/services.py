"""Every write to attachments: add (validated, hashed, stored) and delete (soft).

Both are audited like the owner's other child records: an audit entry (ObjectChange) on the
attachment that carries the owner's account, so it shows in that account's history, and a
TimelineEvent on the account that points at the owner (as agreement changes do). The audit
receiver cannot do this on its own: it finds a record's account through ACCOUNT_PATH, which a
generic key cannot declare, so the rows are written here in the same transaction.
"""
from __future__ import annotations

import hashlib
from typing import IO, Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.db import models, transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from kamcrm.attachments import files, registry, selectors
from kamcrm.attachments.models import Attachment
from kamcrm.core import context
from kamcrm.org.models import User
from kamcrm.org.selectors import EDIT, VIEW, can

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
AUDITED_FIELDS = ["original_name", "size", "mime_type", "sha256", "description", "file"]


def max_bytes() -> int:
    return int(getattr(settings, "KAMCRM_ATTACHMENT_MAX_BYTES", DEFAULT_MAX_BYTES))


def _owner_entry(owner: models.Model) -> registry.Owner:
    entry = registry.for_model(type(owner))
    if entry is None or owner.pk is None:
        raise ValidationError({"owner": _("Records of this kind take no attachments.")})
    return entry


def _check_file(file: Any, name: str) -> tuple[str, int]:
    """The MIME type and size of an acceptable file; else a ValidationError on `file`."""
    if file is None:
        raise ValidationError({"file": _("Choose a file to attach.")})
    allowed = ", ".join(sorted(files.ALLOWED))
    ext = files.extension(name)
    if ext not in files.ALLOWED:
        if ext:
            message = _("Files of type “.%(ext)s” cannot be attached; allowed: %(allowed)s.") % {
                "ext": ext, "allowed": allowed}
        else:
            message = _("The file name has no extension; allowed: %(allowed)s.") % {"allowed": allowed}
        raise ValidationError({"file": message})
    size = getattr(file, "size", None)
    if size is None:
        file.seek(0, 2)
        size = file.tell()
        file.seek(0)
    if size == 0:
        raise ValidationError({"file": _("The file is empty.")})
    if size > max_bytes():
        raise ValidationError({"file": _("The file is %(size)s; an attachment may be at most %(limit)s.") % {
            "size": filesizeformat(size), "limit": filesizeformat(max_bytes())}})
    kind = files.sniff(file)
    if kind not in files.KINDS[ext]:
        raise ValidationError({"file": _("The file's content is not a .%(ext)s file.") % {"ext": ext}})
    return files.ALLOWED[ext], size


def _sha256(file: IO[bytes]) -> str:
    digest = hashlib.sha256()
    file.seek(0)
    for chunk in iter(lambda: file.read(1024 * 1024), b""):
        digest.update(chunk)
    file.seek(0)
    return digest.hexdigest()


def _audit(attachment: Attachment, *, entry: registry.Owner, owner: models.Model, action: str,
           changes: dict[str, list[Any]], by: User | None, summary: str, kind: str) -> None:
    """The audit entry and the account's timeline event of one add or delete (as the receiver writes them
    for records that declare ACCOUNT_PATH)."""
    from kamcrm.audit.models import ObjectChange, TimelineEvent

    ctx = context.current()
    actor = ctx.current_actor() or by
    actor = actor if actor is not None and actor.pk else None
    account_id = entry.account_id(owner)
    ObjectChange.objects.create(
        actor=actor, actor_name=str(actor) if actor is not None else "", channel=ctx.channel,
        request_id=ctx.request_id, job_id=ctx.job_id, content_type=ContentType.objects.get_for_model(Attachment),
        object_id=attachment.pk, object_repr=f"{owner} · {attachment.original_name}"[:200], action=action,
        changes=changes, account_id=account_id)
    if account_id is not None:
        TimelineEvent.objects.create(
            account_id=account_id, occurred_at=attachment.deleted_at or attachment.uploaded_at, kind=kind,
            summary=summary[:300], actor=actor, content_type=ContentType.objects.get_for_model(type(owner)),
            object_id=owner.pk, data={"attachment": attachment.pk, "file_name": attachment.original_name,
                                      "size": attachment.size, "sha256": attachment.sha256})


@transaction.atomic
def attachment_add(*, owner: models.Model, file: Any, description: str = "", by: User | None) -> Attachment:
    """Attach `file` (an uploaded file) to `owner`, a record of a registered model. Refused, naming the
    field, when the file is missing, empty, too large, of a type not allowed or not what its extension
    says; nothing is stored then."""
    entry = _owner_entry(owner)
    name = files.safe_name(getattr(file, "name", "") or "")
    mime_type, size = _check_file(file, name)
    attachment = Attachment(content_type=ContentType.objects.get_for_model(type(owner)), object_id=owner.pk,
                            original_name=name, size=size, mime_type=mime_type, sha256=_sha256(file),
                            description=(description or "").strip(), uploaded_by=by, uploaded_at=timezone.now())
    attachment.full_clean(exclude=["file"])
    attachment.file.save(name, File(file, name=name), save=False)
    try:
        attachment.save()
        _audit(attachment, entry=entry, owner=owner, action="create",
               changes={f: [None, str(attachment.file) if f == "file" else getattr(attachment, f)]
                        for f in AUDITED_FIELDS if getattr(attachment, f) not in (None, "")},
               by=by, kind="attachment_added",
               summary=_("Attachment “%(name)s” added to %(record)s") % {
                   "name": name, "record": f"{entry.model._meta.verbose_name} {owner}"})
    except BaseException:
        attachment.file.delete(save=False)  # no row, no file
        raise
    return attachment


@transaction.atomic
def attachment_delete(*, attachment: Attachment, by: User | None) -> Attachment:
    """Mark the attachment deleted (by whom, when): it leaves the lists and downloads; the file stays."""
    attachment = Attachment.objects.select_for_update().get(pk=attachment.pk)
    if attachment.is_deleted:
        return attachment
    owner = attachment.owner
    entry = _owner_entry(owner)
    attachment.is_deleted, attachment.deleted_by, attachment.deleted_at = True, by, timezone.now()
    attachment.save(update_fields=["is_deleted", "deleted_by", "deleted_at"])
    _audit(attachment, entry=entry, owner=owner, action="update",
           changes={"is_deleted": [False, True], "deleted_by_id": [None, by.pk if by else None],
                    "deleted_at": [None, attachment.deleted_at.isoformat()]},
           by=by, kind="attachment_deleted",
           summary=_("Attachment “%(name)s” deleted from %(record)s") % {
               "name": attachment.original_name, "record": f"{entry.model._meta.verbose_name} {owner}"})
    return attachment


# ---- the UI and API paths: what the user may do -------------------------------------------------

def attachment_add_for(*, user: User, owner: models.Model, file: Any, description: str = "") -> Attachment:
    """The owner must be one `user` may edit (the caller has already found it visible)."""
    if not can(user, owner, EDIT):
        raise PermissionDenied(_("You may see this record but not change it."))
    return attachment_add(owner=owner, file=file, description=description, by=user)


def attachment_delete_for(*, user: User, attachment_id: int, owner: models.Model | None = None) -> Attachment:
    attachment = selectors.attachment_get(user=user, pk=attachment_id, owner=owner, action=VIEW)
    if not can(user, attachment.owner, EDIT):
        raise PermissionDenied(_("You may see this record but not change it."))
    return attachment_delete(attachment=attachment, by=user)

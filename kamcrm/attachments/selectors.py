"""Reads of attachments. Visibility goes through the owning record: an owner's attachments are seen by
whoever may see the owner (`org.selectors`), and a record the user cannot see, or of a model that
takes no attachments, is a 404."""
from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import QuerySet
from django.http import Http404

from kamcrm.attachments import registry
from kamcrm.attachments.models import Attachment
from kamcrm.core.pagination import Page, keyset_page
from kamcrm.org.models import User
from kamcrm.org.selectors import VIEW, can, get_visible_or_404

ORDER = ["-uploaded_at", "-id"]


def owner_get(*, user: User, key: str, pk: int, action: str = VIEW) -> models.Model:
    """The record `key`/`pk` (a registered kind), when `user` may see (or edit) it; else 404."""
    entry = registry.by_key(key)
    if entry is None:
        raise Http404
    return get_visible_or_404(entry.model._default_manager.all(), user, action, pk=pk)


def attachment_queryset(*, owner: models.Model) -> QuerySet[Attachment]:
    """The live attachments of an owner the caller already holds as visible."""
    return (Attachment.objects.filter(content_type=ContentType.objects.get_for_model(type(owner)),
                                      object_id=owner.pk, is_deleted=False)
            .select_related("uploaded_by"))


def attachment_list(*, user: User, owner: models.Model, cursor: str | None = None, page_size: int = 20) -> Page:
    """One keyset page of the owner's attachments, newest first; 404 unless `user` may see the owner."""
    if registry.for_model(type(owner)) is None or not can(user, owner, VIEW):
        raise Http404
    return keyset_page(attachment_queryset(owner=owner), order=ORDER, cursor=cursor, page_size=page_size)


def attachment_get(*, user: User, pk: int, owner: models.Model | None = None, action: str = VIEW) -> Attachment:
    """A live attachment whose owner `user` may see (or edit, with action=EDIT); 404 otherwise. With
    `owner`, the attachment must also belong to it."""
    attachment = Attachment.objects.select_related("uploaded_by").filter(pk=pk, is_deleted=False).first()
    if attachment is None:
        raise Http404
    model = ContentType.objects.get_for_id(attachment.content_type_id).model_class()
    entry = registry.for_model(model) if model is not None else None
    if entry is None:
        raise Http404
    if owner is not None:
        if type(owner) is not model or owner.pk != attachment.object_id:
            raise Http404
        found = owner
    else:
        found = get_visible_or_404(model._default_manager.all(), user, action, pk=attachment.object_id)
    if owner is not None and not can(user, found, action):
        raise Http404
    attachment.owner = found  # the generic key's cache: no second read of the owner
    return attachment

"""Attachments UI: the panel on the owner's page (and its full list), the upload form, the download and
the deletion with its confirmation.

Thin views. A record the user cannot see, or of a kind that takes no attachments, is a 404; so is an
upload or a deletion on a record they may see but not edit (as the owner's own edit pages do).
"""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from kamcrm.attachments import registry, selectors, services
from kamcrm.attachments.forms import AttachmentForm
from kamcrm.attachments.responses import download_response
from kamcrm.core.forms import add_service_errors
from kamcrm.org.selectors import EDIT, VIEW, can

__all__ = ["attachment_add", "attachment_delete", "attachment_download", "attachment_list"]

PAGE_SIZE = 20


def _owner_url(owner) -> str:  # noqa: ANN001
    entry = registry.for_model(type(owner))
    if entry is not None and entry.url is not None:
        return entry.url(owner) + "#attachments"
    return reverse("attachments:attachment_list", args=[entry.key if entry else "", owner.pk])


def panel_context(request: HttpRequest, owner, *, form: AttachmentForm | None = None,  # noqa: ANN001
                  cursor: str | None = None) -> dict:
    """What the panel shows: one page of attachments, whether the user may add or delete, the form."""
    entry = registry.for_model(type(owner))
    page = selectors.attachment_list(user=request.user, owner=owner, cursor=cursor, page_size=PAGE_SIZE)
    may_edit = can(request.user, owner, EDIT)
    return {"owner": owner, "owner_key": entry.key, "owner_url": _owner_url(owner), "page": page,
            "may_edit": may_edit, "form": form or (AttachmentForm() if may_edit else None),
            "list_url": reverse("attachments:attachment_list", args=[entry.key, owner.pk])}


@login_required
@require_GET
def attachment_list(request: HttpRequest, key: str, owner_id: int) -> HttpResponse:
    owner = selectors.owner_get(user=request.user, key=key, pk=owner_id, action=VIEW)
    try:
        context = panel_context(request, owner, cursor=request.GET.get("cursor") or None)
    except ValidationError:  # a bad cursor: start from the top
        context = panel_context(request, owner)
    template = "attachments/_rows.html" if request.headers.get("HX-Request") else "attachments/attachment_list.html"
    return render(request, template, context)


@login_required
@require_http_methods(["GET", "POST"])
def attachment_add(request: HttpRequest, key: str, owner_id: int) -> HttpResponse:
    owner = selectors.owner_get(user=request.user, key=key, pk=owner_id, action=EDIT)
    form = AttachmentForm(request.POST, request.FILES) if request.method == "POST" else AttachmentForm()
    if request.method == "POST" and form.is_valid():
        try:
            attachment = services.attachment_add_for(user=request.user, owner=owner, file=form.cleaned_data["file"],
                                                     description=form.cleaned_data["description"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("“%(name)s” attached.") % {"name": attachment.original_name})
            return redirect(_owner_url(owner))
    return render(request, "attachments/attachment_form.html", {
        "owner": owner, "owner_url": _owner_url(owner), "form": form, "owner_key": key,
    }, status=400 if form.is_bound and form.errors else 200)


@login_required
@require_GET
def attachment_download(request: HttpRequest, pk: int) -> HttpResponse:
    return download_response(selectors.attachment_get(user=request.user, pk=pk, action=VIEW))


@login_required
@require_http_methods(["GET", "POST"])
def attachment_delete(request: HttpRequest, pk: int) -> HttpResponse:
    attachment = selectors.attachment_get(user=request.user, pk=pk, action=EDIT)
    owner = attachment.owner
    if request.method == "POST":
        services.attachment_delete(attachment=attachment, by=request.user)
        messages.success(request, _("“%(name)s” deleted.") % {"name": attachment.original_name})
        return redirect(_owner_url(owner))
    return render(request, "attachments/attachment_confirm_delete.html", {
        "attachment": attachment, "owner": owner, "owner_url": _owner_url(owner),
    })

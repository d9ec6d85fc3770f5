"""API routes of attachments, mounted at /api/v1/ beside the router (namespace "attachments_api"): for
each registered kind with an `api_prefix`, /<api_prefix>/<id>/attachments/…"""
from django.urls import path

from kamcrm.attachments import registry
from kamcrm.attachments.api.views import AttachmentViewSet

app_name = "attachments_api"


def _routes():
    for entry in registry.owners():
        if not entry.api_prefix:
            continue
        base = f"{entry.api_prefix}/<int:owner_id>/attachments/"
        kw = {"owner_key": entry.key}
        yield path(base, AttachmentViewSet.as_view({"get": "list", "post": "create"}, **kw),
                   name=f"{entry.key}-attachment-list")
        yield path(f"{base}<int:pk>/", AttachmentViewSet.as_view({"get": "retrieve", "delete": "destroy"}, **kw),
                   name=f"{entry.key}-attachment-detail")
        yield path(f"{base}<int:pk>/download/", AttachmentViewSet.as_view({"get": "download"}, **kw),
                   name=f"{entry.key}-attachment-download")


urlpatterns = list(_routes())

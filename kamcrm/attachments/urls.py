"""Attachments UI routes: attachments:attachment_<action>. `<key>` is a registered kind (registry.py)."""
from django.urls import path

from kamcrm.attachments import views

app_name = "attachments"
urlpatterns = [
    path("<slug:key>/<int:owner_id>/", views.attachment_list, name="attachment_list"),
    path("<slug:key>/<int:owner_id>/add/", views.attachment_add, name="attachment_add"),
    path("<int:pk>/download/", views.attachment_download, name="attachment_download"),
    path("<int:pk>/delete/", views.attachment_delete, name="attachment_delete"),
]

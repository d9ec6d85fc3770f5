"""UI routes of the exchange app: exchange:<action>."""
from django.urls import path

from kamcrm.exchange import export_views, import_views

app_name = "exchange"
urlpatterns = [
    path("export/<slug:entity>.<slug:fmt>", export_views.export_download, name="export"),
    path("exports/", export_views.export_log, name="export_log"),
    path("imports/", import_views.import_list, name="import_list"),
    path("imports/new/", import_views.import_new, name="import_new"),
    path("imports/template/<slug:entity>.csv", import_views.import_template, name="import_template"),
    path("imports/<int:pk>/", import_views.import_detail, name="import_detail"),
    path("imports/<int:pk>/map/", import_views.import_map, name="import_map"),
    path("imports/<int:pk>/progress/", import_views.import_progress, name="import_progress"),
    path("imports/<int:pk>/errors.csv", import_views.import_errors, name="import_errors"),
    path("imports/<int:pk>/resume/", import_views.import_resume, name="import_resume"),
    path("imports/<int:pk>/cancel/", import_views.import_cancel, name="import_cancel"),
]

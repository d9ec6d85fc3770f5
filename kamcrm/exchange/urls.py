"""UI routes of the exchange app: exchange:<action>."""
from django.urls import path

from kamcrm.exchange import export_views

app_name = "exchange"
urlpatterns = [
    path("export/<slug:entity>.<slug:fmt>", export_views.export_download, name="export"),
    path("exports/", export_views.export_log, name="export_log"),
]

# STUB: replaced by the organisation UI work.
from django.http import HttpResponse
from django.urls import path

app_name = "org"
urlpatterns = [path("units/", lambda r: HttpResponse("units"), name="unit_list")]

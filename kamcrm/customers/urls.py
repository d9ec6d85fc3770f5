# STUB: replaced by the customers UI work.
from django.http import HttpResponse
from django.urls import path

app_name = "customers"
urlpatterns = [
    path("", lambda r: HttpResponse("accounts"), name="account_list"),
    path("contacts/", lambda r: HttpResponse("contacts"), name="contact_list"),
]

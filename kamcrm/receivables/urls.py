"""Receivables UI routes: receivables:<model>_<action>."""
from django.urls import path

from kamcrm.receivables import views

app_name = "receivables"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("invoices/", views.invoice_list, name="invoice_list"),
    path("invoices/add/", views.invoice_add, name="invoice_add"),
    path("invoices/<int:pk>/", views.invoice_detail, name="invoice"),
    path("invoices/<int:pk>/<slug:action>/", views.invoice_action, name="invoice_action"),
    path("accounts/<int:pk>/receivables/", views.account_receivables, name="account_receivables"),
]

"""Agreements UI routes: agreements:<model>_<action>."""
from django.urls import path

from kamcrm.agreements import views

app_name = "agreements"
urlpatterns = [
    path("", views.agreement_list, name="agreement_list"),
    path("add/", views.agreement_add, name="agreement_add"),
    path("<int:pk>/", views.agreement_detail, name="agreement"),
    path("<int:pk>/edit/", views.agreement_edit, name="agreement_edit"),
    path("<int:pk>/amend/", views.agreement_amend, name="agreement_amend"),
    path("<int:pk>/renew/", views.agreement_renew, name="agreement_renew"),
    path("<int:pk>/<slug:action>/", views.agreement_action, name="agreement_action"),
    path("orders/", views.order_list, name="order_list"),
    path("orders/add/", views.order_add, name="order_add"),
    path("orders/<int:pk>/", views.order_detail, name="order"),
    path("orders/<int:pk>/deliver/", views.order_deliver, name="order_deliver"),
    path("accounts/<int:pk>/agreements/", views.account_agreements, name="account_agreements"),
]

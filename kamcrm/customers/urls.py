"""Customers UI routes: customers:<model>_<action>."""
from django.urls import path

from kamcrm.customers import views

app_name = "customers"
urlpatterns = [
    path("", views.account_list, name="account_list"),
    path("add/", views.account_add, name="account_add"),
    path("lookup/", views.account_lookup, name="account_lookup"),
    path("<int:pk>/", views.account_detail, name="account"),
    path("<int:pk>/edit/", views.account_edit, name="account_edit"),
    path("<int:pk>/timeline/", views.account_timeline, name="account_timeline"),
    path("<int:pk>/history/", views.account_history, name="account_history"),
    path("<int:pk>/interactions/add/", views.interaction_add, name="interaction_add"),
    path("<int:pk>/team/add/", views.team_member_add, name="team_member_add"),
    path("team/<int:pk>/edit/", views.team_member_edit, name="team_member_edit"),
    path("team/<int:pk>/remove/", views.team_member_remove, name="team_member_remove"),
    path("contacts/", views.contact_list, name="contact_list"),
    path("contacts/add/", views.contact_add, name="contact_add"),
    path("contacts/<int:pk>/", views.contact_detail, name="contact"),
    path("contacts/<int:pk>/edit/", views.contact_edit, name="contact_edit"),
    path("contacts/<int:pk>/delete/", views.contact_delete, name="contact_delete"),
]

"""Sales managers' routes: sales_manage:<action> (mounted at /sales/manage/)."""
from django.urls import path

from kamcrm.sales import manage_views

app_name = "sales_manage"
urlpatterns = [
    path("accounts/<int:pk>/reassign/", manage_views.account_reassign, name="account_reassign"),
    path("alerts/", manage_views.alert_list, name="alert_list"),
    path("alerts/<int:pk>/", manage_views.alert_detail, name="alert"),
    path("rules/", manage_views.rule_list, name="rule_list"),
    path("rules/add/", manage_views.rule_edit, name="rule_add"),
    path("rules/<int:pk>/", manage_views.rule_edit, name="rule_edit"),
    path("rules/<int:pk>/run/", manage_views.rule_run, name="rule_run"),
]

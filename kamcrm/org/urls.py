"""Organisation UI routes, mounted at /org/."""
from django.urls import path
from django.views.generic import RedirectView

from kamcrm.org import views

app_name = "org"
urlpatterns = [
    path("", RedirectView.as_view(pattern_name="org:unit_list"), name="index"),
    path("units/", views.UnitListView.as_view(), name="unit_list"),
    path("units/add/", views.UnitEditView.as_view(), name="unit_add"),
    path("units/<int:pk>/", views.UnitView.as_view(), name="unit"),
    path("units/<int:pk>/edit/", views.UnitEditView.as_view(), name="unit_edit"),
    path("people/", views.UserListView.as_view(), name="user_list"),
    path("people/add/", views.UserEditView.as_view(), name="user_add"),
    path("people/<int:pk>/", views.UserView.as_view(), name="user"),
    path("people/<int:pk>/edit/", views.UserEditView.as_view(), name="user_edit"),
    path("sharing-rules/", views.SharingRuleListView.as_view(), name="sharing_rule_list"),
    path("sharing-rules/add/", views.SharingRuleEditView.as_view(), name="sharing_rule_add"),
    path("sharing-rules/<int:pk>/edit/", views.SharingRuleEditView.as_view(), name="sharing_rule_edit"),
    path("sharing-rules/<int:pk>/delete/", views.SharingRuleDeleteView.as_view(), name="sharing_rule_delete"),
    path("attributes/", views.AttributeDefinitionListView.as_view(), name="attribute_list"),
    path("attributes/add/", views.AttributeDefinitionEditView.as_view(), name="attribute_add"),
    path("attributes/<int:pk>/edit/", views.AttributeDefinitionEditView.as_view(), name="attribute_edit"),
    path("attributes/<int:pk>/delete/", views.AttributeDefinitionDeleteView.as_view(), name="attribute_delete"),
    path("import/", views.OrgImportView.as_view(), name="import"),
    path("import/template/", views.org_import_template_download, name="import_template"),
]

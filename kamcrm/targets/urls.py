from django.urls import path

from kamcrm.targets import exports, views

app_name = "targets"
urlpatterns = [
    path("", views.plan_list, name="plan_list"),
    path("new/", views.plan_create, name="plan_create"),
    path("<int:pk>/", views.plan_detail, name="plan_detail"),
    path("<int:pk>/edit/", views.plan_edit, name="plan_edit"),
    path("<int:pk>/review/", views.plan_review, name="plan_review"),
    path("<int:pk>/rebalance/", views.plan_rebalance, name="plan_rebalance"),
    path("<int:pk>/revise/", views.plan_revise, name="plan_revise"),
    path("completion/", views.completion, name="completion"),
    # Exports of the views (kamcrm/targets/exports.py), with the pages' query parameters.
    path("<int:pk>/export.<slug:fmt>", exports.plan_export, name="plan_export"),
    path("completion/export.<slug:fmt>", exports.completion_export, name="completion_export"),
    path("ranking/export.<slug:fmt>", exports.ranking_export, name="ranking_export"),
    path("completion/records/", views.completion_records, name="completion_records"),
]

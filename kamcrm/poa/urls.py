from django.urls import path

from kamcrm.poa import views

app_name = "poa"
urlpatterns = [
    path("", views.plan_list, name="plan_list"),
    path("add/", views.plan_add, name="plan_add"),
    path("<int:pk>/", views.plan_detail, name="plan_detail"),
    path("<int:pk>/cycles/", views.cycle_open, name="cycle_open"),
    path("<int:pk>/cycles/<int:cycle_pk>/objectives/", views.objective_add, name="objective_add"),
    path("<int:pk>/cycles/<int:cycle_pk>/actions/", views.action_add, name="action_add"),
    path("<int:pk>/cycles/<int:cycle_pk>/<str:step>/", views.cycle_step, name="cycle_step"),
    path("<int:pk>/actions/<int:action_pk>/", views.action_status, name="action_status"),
    # Weekly plans and reports
    path("weekly/", views.weekly_mine, name="weekly_mine"),
    path("weekly/team/", views.weekly_rollup, name="weekly_rollup"),
    path("weekly/<int:year>/W<int:week>/", views.weekly_week, name="weekly_week"),
    path("weekly/<int:pk>/", views.weekly_detail, name="weekly_detail"),
    path("weekly/<int:pk>/items/", views.weekly_item_add, name="weekly_item_add"),
    path("weekly/<int:pk>/items/<int:item_pk>/remove/", views.weekly_item_remove, name="weekly_item_remove"),
    path("weekly/<int:pk>/share/", views.weekly_share, name="weekly_share"),
    path("weekly/<int:pk>/report/", views.weekly_report, name="weekly_report"),
    path("weekly/<int:pk>/review/", views.weekly_review, name="weekly_review"),
]

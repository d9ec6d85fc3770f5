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
]

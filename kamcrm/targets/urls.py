from django.urls import path

from kamcrm.targets import views

app_name = "targets"
urlpatterns = [
    path("", views.plan_list, name="plan_list"),
    path("<int:pk>/", views.plan_detail, name="plan_detail"),
    path("completion/", views.completion, name="completion"),
]

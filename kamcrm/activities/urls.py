"""Tasks UI routes: activities:<model>_<action>."""
from django.urls import path

from kamcrm.activities import views

app_name = "activities"
urlpatterns = [
    path("", views.task_list, name="task_list"),
    path("<int:pk>/status/", views.task_status, name="task_status"),
]

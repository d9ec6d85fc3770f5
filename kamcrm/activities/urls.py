"""Tasks, calendar, visits and sales plans: activities:<model>_<action>."""
from django.urls import path

from kamcrm.activities import views

app_name = "activities"
urlpatterns = [
    path("", views.task_list, name="task_list"),
    path("<int:pk>/status/", views.task_status, name="task_status"),
    path("calendar/", views.calendar, name="calendar"),
    path("calendar/renew/", views.calendar_feed_renew, name="calendar_feed_renew"),
    path("feed/<str:token>.ics", views.calendar_feed, name="calendar_feed"),
    path("visits/add/", views.visit_add, name="visit_add"),
    path("visits/<int:pk>/", views.visit_detail, name="visit"),
    path("plans/add/", views.sales_plan_add, name="sales_plan_add"),
    path("plans/<int:pk>/", views.sales_plan_detail, name="sales_plan"),
]

from django.urls import path

from kamcrm.analytics import views

app_name = "analytics"
urlpatterns = [
    path("revenue/", views.revenue, name="revenue"),
    path("revenue/accounts/", views.revenue_accounts, name="revenue_accounts"),
]

"""The UI shell: home, login/logout, global search and the user lookup for pickers."""
from django.contrib.auth import views as auth_views
from django.urls import path

from kamcrm.core import views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("search/", views.search, name="search"),
    path("search/suggest/", views.search_suggest, name="search_suggest"),
    path("users/lookup/", views.user_lookup, name="user_lookup"),
]

# STUB: replaced by the UI work (home, login, logout, search, search_suggest, attribute definitions).
from django.contrib.auth import views as auth_views
from django.http import HttpResponse
from django.urls import path

urlpatterns = [
    path("", lambda r: HttpResponse("home"), name="home"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("search/", lambda r: HttpResponse("search"), name="search"),
    path("search/suggest/", lambda r: HttpResponse(""), name="search_suggest"),
]

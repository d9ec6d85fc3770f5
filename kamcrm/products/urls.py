"""Products UI routes: products:<model>_<action>."""
from django.urls import path  # noqa: F401

app_name = "products"
urlpatterns: list = []

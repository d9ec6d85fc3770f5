"""Products UI routes: products:<model>_<action>."""
from django.urls import path

from kamcrm.products import views

app_name = "products"
urlpatterns = [
    path("", views.product_list, name="product_list"),
    path("add/", views.product_add, name="product_add"),
    path("<int:pk>/", views.product_detail, name="product"),
    path("<int:pk>/edit/", views.product_edit, name="product_edit"),
    path("lines/", views.line_list, name="line_list"),
    path("lines/add/", views.line_add, name="line_add"),
    path("lines/<int:pk>/edit/", views.line_edit, name="line_edit"),
    path("plan/", views.plan_current, name="plan_current"),
    path("plan/<int:year>/", views.plan, name="plan"),
]

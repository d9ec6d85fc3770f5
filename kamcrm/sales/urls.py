"""Sales UI routes: sales:<model>_<action>."""
from django.urls import path

from kamcrm.sales import views

app_name = "sales"
urlpatterns = [
    path("", views.opportunity_list, name="opportunity_list"),
    path("board/", views.opportunity_board, name="opportunity_board"),
    path("funnel/", views.funnel, name="funnel"),
    path("add/", views.opportunity_add, name="opportunity_add"),
    path("<int:pk>/", views.opportunity_detail, name="opportunity"),
    path("<int:pk>/edit/", views.opportunity_edit, name="opportunity_edit"),
    path("<int:pk>/move/", views.opportunity_move, name="opportunity_move"),
    path("accounts/<int:pk>/opportunities/", views.account_opportunities, name="account_opportunities"),
]

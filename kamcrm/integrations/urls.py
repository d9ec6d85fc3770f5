"""UI routes of the integrations app, mounted at /integrations/."""
from django.urls import path

from kamcrm.integrations import views

app_name = "integrations"
urlpatterns = [
    path("", views.IntegrationListView.as_view(), name="integration_list"),
    path("add/", views.IntegrationEditView.as_view(), name="integration_add"),
    path("<int:pk>/", views.IntegrationView.as_view(), name="integration"),
    path("<int:pk>/tokens/add/", views.TokenAddView.as_view(), name="token_add"),
    path("<int:pk>/tokens/<int:token_pk>/revoke/", views.TokenRevokeView.as_view(), name="token_revoke"),
]

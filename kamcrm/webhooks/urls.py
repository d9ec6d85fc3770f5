"""UI routes of the webhooks app, mounted at /webhooks/."""
from django.urls import path

from kamcrm.webhooks import views

app_name = "webhooks"
urlpatterns = [
    path("", views.SubscriptionListView.as_view(), name="subscription_list"),
    path("add/", views.SubscriptionEditView.as_view(), name="subscription_add"),
    path("<int:pk>/", views.SubscriptionView.as_view(), name="subscription"),
    path("<int:pk>/edit/", views.SubscriptionEditView.as_view(), name="subscription_edit"),
    path("<int:pk>/rotate-secret/", views.SubscriptionSecretRotateView.as_view(), name="subscription_secret_rotate"),
    path("<int:pk>/deliveries/<int:delivery_pk>/redeliver/", views.DeliveryRedeliverView.as_view(),
         name="delivery_redeliver"),
]

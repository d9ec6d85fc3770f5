from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "kamcrm.api"
    label = "api"
    verbose_name = "API"

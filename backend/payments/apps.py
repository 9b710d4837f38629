from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "backend.payments"
    label = "payments"

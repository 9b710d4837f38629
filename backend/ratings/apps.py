from django.apps import AppConfig


class RatingsConfig(AppConfig):
    name = "backend.ratings"
    label = "ratings"

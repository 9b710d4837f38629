from django.apps import AppConfig


class PerfConfig(AppConfig):
    name = "backend.perf"
    label = "perf"
    verbose_name = "Performance measurement"

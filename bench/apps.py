from django.apps import AppConfig


class BenchConfig(AppConfig):
    """The measurement tooling's Django side: the floor view, demo data and the measurement commands.

    Installed by local, test and benchmark settings (config/settings/bench.py), never by production.
    """

    name = "bench"
    label = "bench"
    verbose_name = "Benchmark and measurement tooling"

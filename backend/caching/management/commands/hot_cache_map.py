"""``manage.py hot_cache_map``: what each model change makes stale, read from the hot-view registry.

The text is committed in docs/caching.md ("What each write makes stale"); tests/caching/test_write_path.py
fails when the two differ, so regenerate that section with this command after changing a declaration.
"""

from collections import defaultdict

from django.core.management.base import BaseCommand

from backend.caching import registry


def _fan_out_line(namespace: str, dependency: registry.Dependency) -> str:
    fan_out = dependency.fan_out
    # A fan-out made by a factory (``_lists_showing_name("reviewee_id")``) is named after the factory.
    name = fan_out.__qualname__.split(".<locals>.")[0]
    fields = ", ".join(dependency.fan_out_when_changed)
    events = [f"{fields} changes"] if fields else []
    events += ["the row is created"] if dependency.fan_out_on_create else []
    when = "when " + ", ".join(events) + (" or " if events else "") + "the row is deleted"
    return f"    {namespace}  fan-out {when}: {fan_out.__module__}.{name}"


def hot_cache_map() -> str:
    """One block per model (``app_label.Model``, sorted), one line per (namespace, id fields) and per fan-out.

    ``ids: payer, payee`` means the key ids are those fields' values, old and new; a fan-out runs its
    queries (one UNION for all of a change's fan-outs) only when one of the named fields changed, the row
    is deleted, or (``fan_out_on_create``) created; a
    dependency with neither is a table the builder reads (a join) whose changes make nothing stale.
    """
    by_model: dict[str, list[str]] = defaultdict(list)
    for view in sorted(registry.all_declarations(), key=lambda view: view.namespace):
        for dependency in view.depends_on:
            lines = by_model[dependency.model]
            if dependency.id_fields:
                lines.append(f"    {view.namespace}  ids: {', '.join(dependency.id_fields)}")
            if dependency.fan_out is not None:
                lines.append(_fan_out_line(view.namespace, dependency))
            if not dependency.id_fields and dependency.fan_out is None:
                lines.append(f"    {view.namespace}  read only (a join): no change of it makes a key stale")
    blocks = [f"{model}\n" + "\n".join(by_model[model]) for model in sorted(by_model)]
    return "\n".join(blocks) + "\n"


class Command(BaseCommand):
    help = "What each model change makes stale: model -> hot-view namespaces, with the id fields and fan-outs."

    def handle(self, *args, **options):
        self.stdout.write(hot_cache_map(), ending="")

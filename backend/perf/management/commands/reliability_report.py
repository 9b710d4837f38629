"""docs/reliability.md from the figures the reliability tests wrote (backend/perf/reliability.py)."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from backend.perf import reliability


class Command(BaseCommand):
    help = (
        "Render docs/reliability.md from test-artifacts/reliability/*.json, which the tests in "
        "tests/reliability/ write (run them first: pytest -m reliability)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--input", default=str(reliability.DEFAULT_INPUT), help="directory of the tests' JSON files"
        )
        parser.add_argument(
            "--output", default=str(reliability.DEFAULT_OUTPUT), help="Markdown file to write ('-': stdout)"
        )

    def handle(self, *args, input, output, **options):
        directory = Path(input)
        if not directory.is_absolute():
            directory = Path(settings.BASE_DIR) / directory
        documents = reliability.load(directory) if directory.is_dir() else []
        if not documents:
            raise CommandError(f"no figures in {directory}: run the reliability tests first (pytest -m reliability)")
        page = reliability.render(documents)
        if output == "-":
            self.stdout.write(page, ending="")
            return
        target = Path(output)
        if not target.is_absolute():
            target = Path(settings.BASE_DIR) / target
        target.write_text(page)
        failed = [d["name"] for d in documents if d.get("outcome") != "passed"]
        self.stdout.write(f"wrote {target} from {len(documents)} test(s)")
        if failed:
            self.stderr.write(f"not passed in the recorded run: {', '.join(failed)}")

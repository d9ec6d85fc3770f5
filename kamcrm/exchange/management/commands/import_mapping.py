"""`kamcrm import_mapping load FILE.json | builtin | list | show NAME`: saved import mappings."""
import json
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from kamcrm.exchange.import_services import mapping_save
from kamcrm.exchange.models import ImportMapping

BUILTIN = Path(__file__).resolve().parents[2] / "mappings"


class Command(BaseCommand):
    help = "Save import mappings from JSON files (or the ones shipped with kamcrm), list or show them."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        load = sub.add_parser("load", help="Save the mapping in a JSON file (replacing one of the same name).")
        load.add_argument("path")
        sub.add_parser("builtin", help=f"Save every mapping shipped in {BUILTIN}.")
        sub.add_parser("list", help="List the saved mappings.")
        show = sub.add_parser("show", help="Print a saved mapping as JSON.")
        show.add_argument("name")

    def handle(self, *args, action, **options):
        self.verbosity = options["verbosity"]
        if action == "load":
            self._load(Path(options["path"]))
        elif action == "builtin":
            for path in sorted(BUILTIN.glob("*.json")):
                self._load(path)
        elif action == "list":
            for m in ImportMapping.objects.all():
                self.stdout.write(f"{m.name}\t{m.source_system}\t{','.join(m.entities)}\t{m.description}")
        else:
            m = ImportMapping.objects.filter(name=options["name"]).first()
            if m is None:
                raise CommandError(f"no mapping called {options['name']!r}")
            self.stdout.write(json.dumps({"name": m.name, "description": m.description,
                                          "source_system": m.source_system, "steps": m.steps},
                                         ensure_ascii=False, indent=2))

    def _load(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CommandError(f"{path}: {exc}") from None
        try:
            mapping = mapping_save(name=data.get("name") or path.stem, source_system=data.get("source_system", ""),
                                   steps=data.get("steps"), description=data.get("description", ""))
        except ValidationError as exc:
            raise CommandError(f"{path}: {'; '.join(exc.messages)}") from None
        if self.verbosity >= 1:
            self.stdout.write(f"saved mapping {mapping.name} ({', '.join(mapping.entities)})")

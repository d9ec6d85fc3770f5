"""Copy the front-end files the product serves from node_modules (installed by `npm ci` from
package-lock.json) into kamcrm/static/vendor/. No CDN: the product runs on a closed intranet."""
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE = ROOT / "node_modules"
DEST = ROOT / "kamcrm" / "static" / "vendor"

FILES = {
    "@tabler/core/dist/css/tabler.min.css": "tabler/tabler.min.css",
    "@tabler/core/dist/js/tabler.min.js": "tabler/tabler.min.js",
    "htmx.org/dist/htmx.min.js": "htmx/htmx.min.js",
    "echarts/dist/echarts.min.js": "echarts/echarts.min.js",
    "tom-select/dist/js/tom-select.complete.min.js": "tom-select/tom-select.complete.min.js",
    "tom-select/dist/css/tom-select.bootstrap5.min.css": "tom-select/tom-select.bootstrap5.min.css",
    "flatpickr/dist/flatpickr.min.js": "flatpickr/flatpickr.min.js",
    "flatpickr/dist/flatpickr.min.css": "flatpickr/flatpickr.min.css",
    "flatpickr/dist/l10n/zh.js": "flatpickr/l10n/zh.js",
    "sortablejs/Sortable.min.js": "sortablejs/Sortable.min.js",
}


def main() -> int:
    missing = [src for src in FILES if not (NODE / src).exists()]
    if missing:
        print("missing front-end files (run `npm ci` first):", *missing, sep="\n  ", file=sys.stderr)
        return 1
    for src, dst in FILES.items():
        target = DEST / dst
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(NODE / src, target)
    print(f"copied {len(FILES)} front-end files to {DEST.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

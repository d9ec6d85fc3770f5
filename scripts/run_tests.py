"""Run the whole suite on SQLite, then on PostgreSQL, and say plainly which ran where.

`make test` skips the PostgreSQL part with a message when no server answers; CI sets
KAMCRM_REQUIRE_POSTGRES=1 so that a missing server fails the run instead.
"""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("KAMCRM_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/kamcrm")


def postgres_available() -> str | None:
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    try:
        with psycopg.connect(PG_URL.rsplit("/", 1)[0] + "/postgres", connect_timeout=3):
            return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not here"
        return str(exc).strip().splitlines()[0]


def run(label: str, database_url: str, extra: list[str]) -> int:
    print(f"\n===== test suite on {label} =====", flush=True)
    env = {**os.environ, "DATABASE_URL": database_url, "KAMCRM_DEBUG": "0"}
    return subprocess.call([sys.executable, "-m", "pytest", *extra], cwd=ROOT, env=env)


def main() -> int:
    extra = sys.argv[1:]
    results: dict[str, str] = {}
    sqlite_rc = run("SQLite", f"sqlite:///{ROOT / 'data' / 'test.sqlite3'}", extra)
    results["SQLite"] = "passed" if sqlite_rc == 0 else f"FAILED (exit {sqlite_rc})"
    why_not = postgres_available()
    if why_not is None:
        pg_rc = run("PostgreSQL", PG_URL, extra)
        results["PostgreSQL"] = "passed" if pg_rc == 0 else f"FAILED (exit {pg_rc})"
    else:
        pg_rc = 1 if os.environ.get("KAMCRM_REQUIRE_POSTGRES") == "1" else 0
        results["PostgreSQL"] = f"SKIPPED: no PostgreSQL server at {PG_URL} ({why_not})"
    print("\n===== summary =====")
    for label, outcome in results.items():
        print(f"{label}: {outcome}")
    return 1 if (sqlite_rc or pg_rc) else 0


if __name__ == "__main__":
    sys.exit(main())

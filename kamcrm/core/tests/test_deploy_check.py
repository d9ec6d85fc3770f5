"""`manage.py check --deploy` with production settings finds nothing to warn about."""
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[3]


def production_env(tmp_path, **overrides) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAMCRM_") and k != "DATABASE_URL"}
    env.update(
        DJANGO_SETTINGS_MODULE="kamcrm.settings",
        KAMCRM_DEBUG="0",
        KAMCRM_PRODUCTION="1",
        KAMCRM_SECRET_KEY=secrets.token_urlsafe(64),  # 86 characters, many unique
        KAMCRM_ALLOWED_HOSTS="crm.example.cn",
        KAMCRM_DATA_DIR=str(tmp_path),
    )
    env.update(overrides)
    return env


def manage(env, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(PROJECT_DIR / "manage.py"), *args], cwd=PROJECT_DIR, env=env,
                          capture_output=True, text=True, timeout=120)


def test_it_passes_the_deploy_check_with_production_settings(tmp_path):
    # given production settings, when
    result = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    # then
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_it_refuses_to_start_in_production_without_a_secret_key(tmp_path):
    env = production_env(tmp_path)
    del env["KAMCRM_SECRET_KEY"]
    result = manage(env, "check")
    assert result.returncode != 0
    assert "KAMCRM_SECRET_KEY must be set in production" in result.stderr


@pytest.mark.parametrize("secret", ["short", "a" * 60])
def test_the_deploy_check_catches_a_weak_secret_key(tmp_path, secret):
    # the check itself works: a weak key is reported, so a clean run above means something
    result = manage(production_env(tmp_path, KAMCRM_SECRET_KEY=secret), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0
    assert "security.W009" in result.stderr + result.stdout

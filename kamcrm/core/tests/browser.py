"""Helpers for the browser tests (the `browser` fixture is in the root conftest.py)."""
import re

from conftest import PASSWORD

SIGNED_IN = re.compile(r"^(?!.*/login/).*$")


def sign_in(page, live_server, username: str, language: str | None = None) -> None:  # noqa: ANN001
    """Log in through the login page as `username` (the test personas' password), first switching the
    page to `language` ("zh-hans" or "en") when one is given."""
    page.goto(f"{live_server.url}/login/")
    if language is not None:
        switch = page.get_by_test_id("login-lang-en" if language == "en" else "login-lang-zh")
        if switch.count():
            switch.click()
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.get_by_test_id("login-submit").click()
    page.wait_for_url(SIGNED_IN)

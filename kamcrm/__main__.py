"""The `kamcrm` console command: Django's management commands with kamcrm's settings.

    kamcrm migrate | kamcrm demo | kamcrm runserver | kamcrm createsuperuser ...
"""
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kamcrm.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["kamcrm", *sys.argv[1:]])


if __name__ == "__main__":
    main()

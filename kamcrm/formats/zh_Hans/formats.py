"""zh-Hans number formats: Django's own (dates etc.) plus thousands grouped with commas, as Chinese
finance and business documents write amounts (¥1,234,567.00)."""
from django.conf.locale.zh_Hans.formats import *  # noqa: F403

THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3

"""kamcrm: an open-source key-account CRM."""

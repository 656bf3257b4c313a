"""The testing kit of smbselect: db, smtp, settings, app, client, admin_client,
partner_client and register_plugin. The plugin itself is loaded from its entry point, as
in production, so install the package first (``pip install -e .``)."""

pytest_plugins = ["smbselect.pytest_plugin"]

"""The app as uvicorn imports it (``smbselect.asgi:app``), with settings from the environment."""

from smbselect.app import create_app

app = create_app()

"""gunicorn's entry point: ``gunicorn -c gunicorn.conf.py service.wsgi:app``.

Each worker imports this module after the fork (no ``--preload``), so each builds its own app and
loads its own model, in a background thread: the worker answers ``/healthz`` at once and ``/readyz``
once its model is ready.
"""

from service import create_app

app = create_app()

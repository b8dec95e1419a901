"""The command line (``taskhub ...``): typer commands over the services, rendered with rich.

Imports the services and the composition root, never the store: it prints what services return.
"""

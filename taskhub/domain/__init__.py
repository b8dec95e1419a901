"""The domain: task states and records, submissions, the task registry, retries, outputs, plans,
inputs, settings and pipelines — values and rules, no I/O.

Pure Python: nothing here imports SQLAlchemy, Celery, kombu, FastAPI or any other taskhub
package. Every other layer may import it.
"""

# Celery is optional: without it installed the product runs its embedded scheduler
# (manage.py run_scheduler) and this package has no Celery app.
try:
    from vas_project.celery import app as celery_app
except ModuleNotFoundError as missing:
    if missing.name != "celery":  # Celery there but broken: say so now, not in the worker later
        raise
    celery_app = None

__all__ = ["celery_app"]

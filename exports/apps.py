from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "exports"
    verbose_name = "Exports"

    def ready(self) -> None:
        from exports.services import export_worker_gone
        from jobs.services import job_worker_gone

        # An export whose worker died leaves its partial file: removed as the job is failed.
        job_worker_gone.connect(export_worker_gone, dispatch_uid="exports.export_worker_gone")

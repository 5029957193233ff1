"""What /metrics reads from the database and the live store when it is scraped: figures any
process can answer the same (unlike the counts in vas_project.metrics, kept by the process
that counted them)."""

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from monitoring.selectors import cameras_status, components_status, jobs_by_state
from vas_project.metrics import CAMERA


class ProductCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        families = {
            "online": GaugeMetricFamily("vas_device_online", "1 when the camera is online.", labels=CAMERA),
            "enabled": GaugeMetricFamily("vas_device_enabled", "1 when the camera is enabled.", labels=CAMERA),
            "bytes": GaugeMetricFamily("vas_stored_bytes", "Image bytes the camera's snapshots hold.", labels=CAMERA),
            "rows": GaugeMetricFamily("vas_stored_snapshots", "Snapshots stored of the camera.", labels=CAMERA),
            "last": GaugeMetricFamily(
                "vas_last_snapshot_timestamp_seconds", "Unix time of the camera's newest snapshot.", labels=CAMERA
            ),
            "up": GaugeMetricFamily(
                "vas_keeper_session_up", "1 when a stream keeper holds the live camera's session.", labels=CAMERA
            ),
            "age": GaugeMetricFamily(
                "vas_live_frame_age_seconds", "Age of the newest keyframe the keeper has of the camera.", labels=CAMERA
            ),
        }
        for status in cameras_status(user=None):
            camera = [str(status.device.pk), status.device.name]
            families["online"].add_metric(camera, float(status.device.status == "online"))
            families["enabled"].add_metric(camera, float(status.device.enabled))
            families["bytes"].add_metric(camera, status.storage.bytes)
            families["rows"].add_metric(camera, status.storage.snapshots)
            if status.storage.newest is not None:
                families["last"].add_metric(camera, status.storage.newest.timestamp())
            if status.device.live and status.device.enabled:
                families["up"].add_metric(camera, float(status.live_up))
                if status.live_frame_age_s is not None:
                    families["age"].add_metric(camera, status.live_frame_age_s)
        yield from families.values()
        jobs = GaugeMetricFamily("vas_jobs", "Jobs by state.", labels=["state"])
        for state, count in jobs_by_state().items():
            jobs.add_metric([state], count)
        yield jobs
        beats = GaugeMetricFamily(
            "vas_heartbeat_timestamp_seconds", "Unix time of the component's newest heartbeat.", labels=["component"]
        )
        for component in components_status():
            if component.last_beat_at is not None:
                beats.add_metric([component.component], component.last_beat_at.timestamp())
        yield beats

"""Exports: one camera's snapshots of a time range as a zip of JPEGs or an MP4 timelapse, built
as a job into a file under EXPORT_DIR, downloaded through a signed link (snapshots/links.py),
removed by the prune once the link has expired.

A file's name is its job's id, so the file needs no row of its own: the job holds the request
and the result, the file's age says when it expires."""

import os
import re
import time
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils.text import slugify

from devices.models import Device
from devices.selectors import Viewer
from exports import video
from jobs.models import Job
from jobs.services import UNFINISHED_STATES, JobFailed, JobRun, job_create, jobs_fail_stale
from snapshots import images, links, selectors
from vas_project.public_urls import absolute_url


@dataclass(frozen=True)
class ExportKind:
    extension: str
    content_type: str


KINDS = {"zip": ExportKind("zip", "application/zip"), "timelapse": ExportKind("mp4", "video/mp4")}
CONTENT_TYPES = {kind.extension: kind.content_type for kind in KINDS.values()}
# Progress is written, and cancelling looked for, once per this many frames.
PROGRESS_EVERY_FRAMES = 32


class ExportRefused(Exception):
    """An export not started, with its code and the HTTP status that says why (400: the request;
    429: the user's other exports)."""

    def __init__(self, message: str, *, code: str, http_status: int = 400):
        super().__init__(message)
        self.code = code
        self.http_status = http_status


def _check_bounds(*, frames: int, total_bytes: int) -> None:
    if frames > settings.EXPORT_MAX_FRAMES:
        limit = settings.EXPORT_MAX_FRAMES
        message = f"The range holds {frames} snapshots; an export takes at most {limit} (VAS_EXPORT_MAX_FRAMES)."
        raise ExportRefused(message, code="export_too_large")
    if total_bytes > settings.EXPORT_MAX_BYTES:
        limit = settings.EXPORT_MAX_BYTES
        message = f"The range holds {total_bytes} image bytes; an export takes at most {limit} (VAS_EXPORT_MAX_BYTES)."
        raise ExportRefused(message, code="export_too_large")


def export_create(
    *, device: Device, user: Viewer, kind: str, start: datetime, end: datetime, fps: int, width: int | None
) -> Job:
    """A queued export job, if the range holds snapshots and stays within the bounds;
    else ExportRefused (export_empty, export_too_large)."""
    owner = user if isinstance(user, User) else None
    jobs_fail_stale()  # an export whose worker died does not count against its owner
    unfinished = Job.objects.filter(kind=Job.Kind.EXPORT, requested_by=owner, state__in=UNFINISHED_STATES)
    if unfinished.count() >= settings.EXPORT_MAX_UNFINISHED:
        message = (
            f"You have {settings.EXPORT_MAX_UNFINISHED} exports queued or running "
            "(VAS_EXPORT_MAX_UNFINISHED); wait for one to finish, or cancel one."
        )
        raise ExportRefused(message, code="too_many_exports", http_status=429)
    summary = selectors.snapshot_range_summary(device_id=device.pk, start=start, end=end)
    if summary.frames == 0:
        raise ExportRefused("This camera has no snapshot in that range.", code="export_empty")
    _check_bounds(frames=summary.frames, total_bytes=summary.total_bytes)
    params = {
        "device_id": str(device.pk),
        "device_name": device.name,
        "kind": kind,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "fps": fps,
        "width": width,
    }
    return job_create(kind=Job.Kind.EXPORT, params=params, user=user, total=summary.frames)


def export_path(*, job_id: uuid.UUID | str, extension: str) -> Path:
    return settings.EXPORT_DIR / f"{job_id}.{extension}"


def _filename(params: dict[str, Any], extension: str) -> str:
    start, end = (datetime.fromisoformat(params[name]).astimezone(UTC) for name in ("start", "end"))
    name = slugify(params["device_name"])[:80] or "camera"
    return f"{name}-{start:%Y%m%dT%H%M%SZ}-{end:%Y%m%dT%H%M%SZ}.{extension}"


def _zip_name(captured_at: datetime, taken: set[str]) -> str:
    """The JPEG's name in the zip: its capture time in UTC (no colons, for every file system)."""
    moment = captured_at.astimezone(UTC)
    stem = f"{moment:%Y-%m-%dT%H-%M-%S}.{moment.microsecond // 1000:03d}Z"
    name, copy = f"{stem}.jpg", 1
    while name in taken:
        copy += 1
        name = f"{stem}-{copy}.jpg"
    taken.add(name)
    return name


class _Frames:
    """The range's images in order, with the job's progress written, cancelling looked for and
    the byte bound kept as they are read."""

    def __init__(self, run: JobRun):
        self.run = run
        self.done = 0
        self.read_bytes = 0
        self.unreadable = 0
        self.cancelled = False

    def __iter__(self) -> Iterator[tuple[datetime, bytes]]:
        params = self.run.params
        rows = selectors.snapshot_images_in_range(
            device_id=uuid.UUID(params["device_id"]),
            start=datetime.fromisoformat(params["start"]),
            end=datetime.fromisoformat(params["end"]),
            limit=settings.EXPORT_MAX_FRAMES + 1,
        )
        total = self.run.job.progress_total
        for captured_at, data in rows:
            if data is None:  # its key left VAS_ENCRYPTION_KEYS: that image only is left out
                self.unreadable += 1
                continue
            if self.done % PROGRESS_EVERY_FRAMES == 0:
                self.run.progress(done=self.done, total=max(total, self.done))
                if self.run.cancelled():
                    self.cancelled = True
                    return
            self.read_bytes += len(data)
            try:
                _check_bounds(frames=self.done + 1, total_bytes=self.read_bytes)
            except ExportRefused as refused:  # the range grew since the export was asked for
                raise JobFailed(str(refused)) from None
            self.done += 1
            yield captured_at, data


def _write_zip(frames: _Frames, part: Path, width: int | None) -> None:
    taken: set[str] = set()
    # JPEGs do not compress further: stored, not deflated.
    with zipfile.ZipFile(part, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for captured_at, data in frames:
            if width is not None:
                data = images.resize_jpeg(data, max_width_px=width)
            entry = zipfile.ZipInfo(
                _zip_name(captured_at, taken), date_time=captured_at.astimezone(UTC).timetuple()[:6]
            )
            archive.writestr(entry, data)


def _write_timelapse(frames: _Frames, part: Path, fps: int, width: int | None) -> None:
    try:
        video.encode_timelapse((data for _, data in frames), path=part, fps=fps, width_px=width)
    except video.TimelapseError as error:
        if not frames.cancelled:  # cancelled before the first frame: nothing to encode, no failure
            raise JobFailed(str(error)) from None


def export_build(run: JobRun) -> dict[str, Any]:
    """The export job's handler (settings.JOB_HANDLERS): writes the file beside its final name
    and renames it when whole, so a download never finds half a file; a cancelled or failed
    export leaves no file behind."""
    params = run.params
    kind = KINDS[params["kind"]]
    settings.EXPORT_DIR.mkdir(parents=True, exist_ok=True)
    final = export_path(job_id=run.job.pk, extension=kind.extension)
    part = final.with_name(f".{final.name}.part")
    frames = _Frames(run)
    try:
        if params["kind"] == "zip":
            _write_zip(frames, part, params["width"])
        else:
            _write_timelapse(frames, part, params["fps"], params["width"])
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    if frames.cancelled or run.cancelled():  # cancelled after the last frame: no file either
        part.unlink(missing_ok=True)
        return {"frames": frames.done}
    os.replace(part, final)
    run.progress(done=frames.done, total=frames.done)
    expires = int(time.time()) + settings.EXPORT_TTL_S
    path = reverse("export-download", kwargs={"job_id": run.job.pk, "filename": _filename(params, kind.extension)})
    return {
        "kind": params["kind"],
        "frames": frames.done,
        "unreadable_frames": frames.unreadable,
        "bytes": final.stat().st_size,
        "content_type": kind.content_type,
        "download_url": absolute_url(f"{path}?{links.signed_query(path=path, expires=expires)}"),
        "expires_at": datetime.fromtimestamp(expires, UTC).isoformat(),
    }


# The files exports write, and nothing else: the prune never touches another file, wherever
# VAS_EXPORT_DIR points.
EXPORT_FILE = re.compile(r"\.?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.(zip|mp4)(\.part)?")


def exports_prune(*, now: float | None = None) -> int:
    """Remove the export files (and the parts a killed worker left) older than EXPORT_TTL_S:
    their links have expired. The number removed."""
    cutoff = (now or time.time()) - settings.EXPORT_TTL_S
    if not settings.EXPORT_DIR.is_dir():
        return 0
    removed = 0
    for path in settings.EXPORT_DIR.iterdir():
        if EXPORT_FILE.fullmatch(path.name) and path.is_file() and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed

"""Exports: one camera's snapshots of a time range as a zip of JPEGs or an MP4 timelapse, built
as a job into a file under EXPORT_DIR, downloaded through a signed link (snapshots/links.py),
removed by the prune once the link has expired.

A file's name is its job's id, so the file needs no row of its own: the job holds the request
and the result (and whose it is), the file's age says when it expires. The files on disk are
bounded per user and in all, in bytes and in number (VAS_EXPORT_USER_MAX_*, VAS_EXPORT_TOTAL_MAX_*):
a request past a quota is refused, a build that passes one as it is written fails."""

import math
import os
import re
import time
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

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
    429: the user's other exports; 507: the exports of everyone fill their room), and when there
    will be room again if that is known (the oldest export file in the way expires)."""

    def __init__(self, message: str, *, code: str, http_status: int = 400, retry_after_s: int | None = None):
        super().__init__(message)
        self.code = code
        self.http_status = http_status
        self.retry_after_s = retry_after_s


# The quotas on the files on disk: one user's (429) and everyone's (507, the disk's room).
QUOTA_EXCEEDED = "export_quota_exceeded"
STORAGE_FULL = "export_storage_full"


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
    """A queued export job, if the range holds snapshots, stays within the bounds and the
    quotas leave room for its file; else ExportRefused (too_many_exports, export_quota_exceeded,
    export_storage_full, export_empty, export_too_large). Nothing is written when refused."""
    owner = user if isinstance(user, User) else None
    jobs_fail_stale()  # an export whose worker died does not count against its owner
    exports = Job.objects.filter(kind=Job.Kind.EXPORT, state__in=UNFINISHED_STATES)
    unfinished = exports.filter(requested_by=owner).count()
    if unfinished >= settings.EXPORT_MAX_UNFINISHED:
        message = (
            f"You have {settings.EXPORT_MAX_UNFINISHED} exports queued or running "
            "(VAS_EXPORT_MAX_UNFINISHED); wait for one to finish, or cancel one."
        )
        raise ExportRefused(message, code="too_many_exports", http_status=429)
    # Each export under way will be a file: counted against the number of files already.
    pending = (unfinished, exports.count())
    owner_id = owner.pk if owner is not None else None
    _check_room(owner_id=owner_id, pending_files=pending)
    summary = selectors.snapshot_range_summary(device_id=device.pk, start=start, end=end)
    if summary.frames == 0:
        raise ExportRefused("This camera has no snapshot in that range.", code="export_empty")
    _check_bounds(frames=summary.frames, total_bytes=summary.total_bytes)
    if kind == "zip" and width is None:  # stored as they are: the zip holds at least the images' bytes
        _check_room(owner_id=owner_id, pending_files=pending, adding_bytes=summary.total_bytes)
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


def _part_path(final: Path) -> Path:
    return final.with_name(f".{final.name}.part")


# The files exports write, and nothing else: the prune and the quotas never touch or count
# another file, wherever VAS_EXPORT_DIR points.
EXPORT_FILE = re.compile(
    r"\.?(?P<job_id>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.(zip|mp4)(?P<part>\.part)?"
)


@dataclass(frozen=True)
class _ExportFile:
    path: Path
    job_id: uuid.UUID
    part: bool  # being written (or left by a worker that died), not yet a finished export
    size: int
    mtime: float


def _export_files() -> list[_ExportFile]:
    if not settings.EXPORT_DIR.is_dir():
        return []
    files = []
    for entry in os.scandir(settings.EXPORT_DIR):
        match = EXPORT_FILE.fullmatch(entry.name)
        try:
            if match is None or not entry.is_file():
                continue
            stat = entry.stat()
        except FileNotFoundError:  # removed since it was listed
            continue
        job_id = uuid.UUID(match["job_id"])
        files.append(_ExportFile(Path(entry.path), job_id, bool(match["part"]), stat.st_size, stat.st_mtime))
    return files


@dataclass
class _Held:
    """What export files hold on disk: finished files (counted and in bytes) and the parts being
    written (in bytes)."""

    files: int = 0
    bytes: int = 0
    oldest: float | None = None  # the oldest finished file's time: the next to expire

    def add(self, file: _ExportFile) -> None:
        self.bytes += file.size
        if not file.part:
            self.files += 1
            self.oldest = file.mtime if self.oldest is None else min(self.oldest, file.mtime)

    def retry_after_s(self) -> int | None:
        if self.oldest is None:
            return None
        return max(1, math.ceil(self.oldest + settings.EXPORT_TTL_S - time.time()))


def _held(*, owner_id: int | None, leaving_out: uuid.UUID | None = None) -> tuple[_Held, _Held]:
    """The owner's export files (by their jobs' requester; none for no owner) and everyone's,
    leaving out the files of the job leaving_out (a build counts its own part itself)."""
    files = [file for file in _export_files() if file.job_id != leaving_out]
    ids = {file.job_id for file in files}
    owners = dict(Job.objects.filter(pk__in=ids).values_list("pk", "requested_by_id")) if ids else {}
    mine, everyone = _Held(), _Held()
    for file in files:
        everyone.add(file)
        if owner_id is not None and owners.get(file.job_id) == owner_id:
            mine.add(file)
    return mine, everyone


@dataclass(frozen=True)
class _Quota:
    scope: str  # the settings' middle word: VAS_EXPORT_<scope>_MAX_BYTES, _MAX_FILES
    whose: str
    code: str
    http_status: int

    def limits(self) -> tuple[int, int]:
        return getattr(settings, f"EXPORT_{self.scope}_MAX_BYTES"), getattr(settings, f"EXPORT_{self.scope}_MAX_FILES")


USER_QUOTA = _Quota("USER", "your exports", QUOTA_EXCEEDED, 429)
TOTAL_QUOTA = _Quota("TOTAL", "all users' exports", STORAGE_FULL, 507)


def _check_room(
    *,
    owner_id: int | None,
    pending_files: tuple[int, int] = (0, 0),
    adding_bytes: int = 0,
    leaving_out: uuid.UUID | None = None,
    building: bool = False,
) -> None:
    """ExportRefused (export_quota_exceeded 429, export_storage_full 507) unless one more export
    file, of adding_bytes at least, fits in its owner's quota and in everyone's (a limit of 0:
    none). pending_files: the (owner's, everyone's) exports under way, each a file to come.
    building: asked by a build, adding_bytes its part as written so far, leaving_out its job."""
    mine, everyone = _held(owner_id=owner_id, leaving_out=leaving_out)
    for quota, held, pending in ((USER_QUOTA, mine, pending_files[0]), (TOTAL_QUOTA, everyone, pending_files[1])):
        if quota is USER_QUOTA and owner_id is None:
            continue
        max_bytes, max_files = quota.limits()
        if max_bytes > 0 and (held.bytes >= max_bytes or held.bytes + adding_bytes > max_bytes):
            setting, limit, holding = f"VAS_EXPORT_{quota.scope}_MAX_BYTES", f"{max_bytes} bytes", f"{held.bytes} bytes"
            if adding_bytes and not building:
                holding += f" and this one would add {adding_bytes}"
        elif max_files > 0 and held.files + pending + 1 > max_files:
            setting, limit = f"VAS_EXPORT_{quota.scope}_MAX_FILES", f"{max_files} files"
            holding = f"{held.files + pending} files" + (" with those under way" if pending else "")
        else:
            continue
        if building:
            message = f"This export passed the {limit} of {quota.whose} ({setting}) as it was written."
        else:
            message = (
                f"{quota.whose.capitalize()} hold {holding}, of at most {limit} ({setting}); "
                "an export is removed when its link expires."
            )
        raise ExportRefused(message, code=quota.code, http_status=quota.http_status, retry_after_s=held.retry_after_s())


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


def _failed(run: JobRun, refused: ExportRefused, *, done: int) -> NoReturn:
    """Fail the job with the refusal's sentence as its error and its code in its result."""
    run.progress(done=done, total=run.job.progress_total, result={"code": refused.code})
    raise JobFailed(str(refused)) from None


class _Frames:
    """The range's images in order, with the job's progress written, cancelling looked for, the
    bounds kept as they are read, and the quotas as the file is written."""

    def __init__(self, run: JobRun, part: Path):
        self.run = run
        self.part = part
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
                self.check_room()
            self.read_bytes += len(data)
            try:
                _check_bounds(frames=self.done + 1, total_bytes=self.read_bytes)
            except ExportRefused as refused:  # the range grew since the export was asked for
                _failed(self.run, refused, done=self.done)
            self.done += 1
            yield captured_at, data

    def check_room(self) -> None:
        """The quotas with this export's part as written so far (its size is known only now)."""
        try:
            written = self.part.stat().st_size
        except FileNotFoundError:
            written = 0
        job = self.run.job
        try:
            _check_room(owner_id=job.requested_by_id, adding_bytes=written, leaving_out=job.pk, building=True)
        except ExportRefused as refused:
            _failed(self.run, refused, done=self.done)


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


def _failed_meanwhile(run: JobRun) -> bool:
    """Failed as stale while it ran (its worker was thought dead): its part was removed."""
    return Job.objects.filter(pk=run.job.pk, state=Job.State.FAILED).exists()


def export_build(run: JobRun) -> dict[str, Any]:
    """The export job's handler (settings.JOB_HANDLERS): writes the file beside its final name
    and renames it when whole, so a download never finds half a file; a cancelled or failed
    export, or one that passes a quota as it is written, leaves no file behind."""
    params = run.params
    kind = KINDS[params["kind"]]
    settings.EXPORT_DIR.mkdir(parents=True, exist_ok=True)
    final = export_path(job_id=run.job.pk, extension=kind.extension)
    part = _part_path(final)
    frames = _Frames(run, part)
    try:
        if params["kind"] == "zip":
            _write_zip(frames, part, params["width"])
        else:
            _write_timelapse(frames, part, params["fps"], params["width"])
        # Cancelled after the last frame, or failed meanwhile as stale (its part removed): no file.
        stopped = frames.cancelled or run.cancelled() or _failed_meanwhile(run)
        if not stopped:
            frames.check_room()  # the whole file: its exact size
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    if stopped:
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


def export_worker_gone(*, job_id: uuid.UUID) -> None:
    """jobs_fail_stale failed the export (its worker died; settings.JOB_CLEANUPS): the part its
    build left is removed now, not once the prune finds it expired."""
    for extension in CONTENT_TYPES:
        _part_path(export_path(job_id=job_id, extension=extension)).unlink(missing_ok=True)


def exports_prune(*, now: float | None = None) -> int:
    """Remove the export files older than EXPORT_TTL_S (their links have expired) and the parts
    of every job no longer queued or running, whatever their age (a killed worker's, say). The
    number removed."""
    cutoff = (now or time.time()) - settings.EXPORT_TTL_S
    files = _export_files()
    parts = {file.job_id for file in files if file.part}
    under_way = set(Job.objects.filter(pk__in=parts, state__in=UNFINISHED_STATES).values_list("pk", flat=True))
    removed = 0
    for file in files:
        if file.mtime < cutoff or (file.part and file.job_id not in under_way):
            file.path.unlink(missing_ok=True)
            removed += 1
    return removed

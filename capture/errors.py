"""Every way a capture can fail, in one table: the stable code clients see, the HTTP status it
answers, whether it means the camera is offline, the sentence people read, and the phrases of
FFmpeg's error strings that mean it. Adding a failure is one row here; the rtsp module, the capture
service, the API views and the OpenAPI schema all read this table."""

from dataclasses import dataclass

from rest_framework import status


@dataclass(frozen=True)
class CaptureFailure:
    code: str
    http_status: int
    message: str
    # The camera cannot be reached at all: the device is marked offline.
    offline: bool = False
    # FFmpeg's error phrases that mean this failure, most specific rows first in the table.
    error_phrases: tuple[str, ...] = ()


CAPTURE_FAILURES: dict[str, CaptureFailure] = {
    failure.code: failure
    for failure in [
        CaptureFailure(
            "auth_failed",
            status.HTTP_502_BAD_GATEWAY,
            "The camera rejected the username or password: authentication failed.",
            error_phrases=("401 Unauthorized", "403 Forbidden"),
        ),
        CaptureFailure(
            "unreachable",
            status.HTTP_502_BAD_GATEWAY,
            "The camera cannot be reached.",
            offline=True,
            error_phrases=(
                "Connection refused",
                "No route to host",
                "Network is unreachable",
                "Name or service not known",
                "Temporary failure in name resolution",
            ),
        ),
        CaptureFailure(
            "timeout",
            status.HTTP_504_GATEWAY_TIMEOUT,
            "The camera did not answer in time.",
            offline=True,
            error_phrases=("timed out",),
        ),
        CaptureFailure(
            "stream_not_found",
            status.HTTP_502_BAD_GATEWAY,
            "The camera has no stream at that path.",
            error_phrases=("404 Not Found",),
        ),
        CaptureFailure(
            "not_video",
            status.HTTP_502_BAD_GATEWAY,
            "The camera's stream has no video.",
            error_phrases=("matches no streams", "does not contain any stream"),
        ),
        CaptureFailure("capture_failed", status.HTTP_502_BAD_GATEWAY, "The camera did not deliver a video frame."),
        CaptureFailure(
            "tls_untrusted",
            status.HTTP_502_BAD_GATEWAY,
            "The camera's TLS certificate is not trusted; nothing was sent to it. For a camera with a "
            "self-signed certificate, turn its tls_verify off, or add its CA to VAS_RTSPS_CA_FILE.",
        ),
        CaptureFailure(
            "still_failed",
            status.HTTP_502_BAD_GATEWAY,
            "The camera's snapshot URL did not answer with an image.",
        ),
        CaptureFailure("image_too_large", status.HTTP_502_BAD_GATEWAY, "The camera's image is larger than the limit."),
        CaptureFailure("invalid_image", status.HTTP_502_BAD_GATEWAY, "The camera sent an unusable image."),
        CaptureFailure("invalid_url", status.HTTP_409_CONFLICT, "The camera's URL is not an rtsp:// or rtsps:// URL."),
        CaptureFailure(
            "password_unreadable",
            status.HTTP_409_CONFLICT,
            "The camera's stored password cannot be decrypted with the configured keys (VAS_ENCRYPTION_KEYS); "
            "add the key it was encrypted with, or set the password again.",
        ),
        CaptureFailure("device_not_found", status.HTTP_404_NOT_FOUND, "No camera with that id or name."),
        CaptureFailure(
            "batch_deadline",
            status.HTTP_504_GATEWAY_TIMEOUT,
            "Not captured: the batch's time (VAS_BATCH_DEADLINE_S) ran out before this camera's turn; "
            "capture it again, or in a smaller batch.",
        ),
        CaptureFailure(
            "cancelled",
            status.HTTP_409_CONFLICT,
            "Not captured: the job was cancelled before this camera's turn.",
        ),
        CaptureFailure("device_disabled", status.HTTP_409_CONFLICT, "The camera is disabled."),
        CaptureFailure(
            "device_offline",
            status.HTTP_409_CONFLICT,
            "The camera is offline; capture with force=true to try anyway.",
        ),
        CaptureFailure("internal_error", status.HTTP_500_INTERNAL_SERVER_ERROR, "The capture failed unexpectedly."),
    ]
}


class CaptureError(Exception):
    """A capture failed; `code` is stable for clients (a row of CAPTURE_FAILURES), the message
    is for humans and never holds a credential."""

    def __init__(self, message: str = "", *, code: str):
        self.failure = CAPTURE_FAILURES[code]
        super().__init__(message or self.failure.message)
        self.code = code
        # Whether this failure says the camera is offline: the table's word, unless the
        # capture knows better (a grab cut short by something else says nothing of the camera).
        self.offline = self.failure.offline
        # Whether it says anything of the camera at all: a grab cut short does not.
        self.conclusive = True


def failure_from_text(text: str) -> tuple[CaptureFailure, str] | None:
    """The failure FFmpeg's error text names, with the phrase that named it; None when none does."""
    for failure in CAPTURE_FAILURES.values():
        for phrase in failure.error_phrases:
            if phrase in text:
                return failure, phrase
    return None

"""A camera as capture/ sees it: plain values, read from the register by its caller."""

import hashlib
import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class Camera:
    id: uuid.UUID
    name: str
    rtsp_url: str
    username: str = ""
    password: str = ""
    tls_verify: bool = True
    # The camera's own still image over HTTP, and which source a capture takes (auto, rtsp, still).
    snapshot_url: str = ""
    frame_source: str = "auto"
    # Whether the stream keeper holds the camera.
    live: bool = False
    # Where its ONVIF service answers (the RTSP URL's host unless set apart), and the media
    # profile a keyframe is asked for on; no profile, no keyframe requests.
    onvif_host: str = ""
    onvif_port: int = 80
    onvif_profile: str = ""
    # The stored password cannot be decrypted with the configured keys.
    password_unreadable: bool = False

    @property
    def identity(self) -> str:
        """Changes when the URL or a credential changes, so a session reconnects; holds no secret in clear."""
        identity = f"{self.id}\n{self.rtsp_url}\n{self.username}\n{self.password}\n{self.tls_verify}"
        identity += f"\n{self.onvif_host}\n{self.onvif_port}\n{self.onvif_profile}"
        return hashlib.sha256(identity.encode()).hexdigest()

import io
from datetime import datetime

from django.utils import timezone
from PIL import Image, ImageDraw

from devices.models import Device
from devices.services import device_storage_add
from snapshots import images
from snapshots.models import Snapshot


def jpeg_bytes(width: int = 640, height: int = 360) -> bytes:
    image = Image.new("RGB", (width, height), (30, 90, 160))
    ImageDraw.Draw(image).rectangle((width // 4, height // 4, width // 2, height // 2), fill=(240, 200, 20))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


def make_snapshot(device: Device, *, captured_at: datetime | None = None, trigger: str = "api", width: int = 640):
    data = jpeg_bytes(width, width * 9 // 16)
    snapshot = Snapshot.objects.create(
        device=device,
        image=data,
        thumbnail=images.resize_jpeg(data, max_width_px=320),
        width=width,
        height=width * 9 // 16,
        file_size=len(data),
        captured_at=captured_at or timezone.now(),
        trigger=trigger,
    )
    # As snapshots.services does when it stores a capture.
    device_storage_add(device_id=device.pk, size=len(data), snapshots=1)
    return snapshot

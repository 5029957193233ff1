from rest_framework.request import Request

from devices.models import Device
from devices.selectors import device_get
from vas_project.exceptions import object_not_found


def get_device_or_404(request: Request, device_id: str) -> Device:
    """The camera, if it exists and the user may see it; else the same 404 either way."""
    device = device_get(device_id=device_id, user=request.user)
    if device is None:
        raise object_not_found("device")
    return device

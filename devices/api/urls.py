from devices.api.views import DeviceViewSet
from vas_project.routers import ApiRouter

router = ApiRouter()
router.register("devices", DeviceViewSet, basename="device")

urlpatterns = router.urls

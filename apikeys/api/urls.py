from apikeys.api.views import ApiKeyViewSet
from vas_project.routers import ApiRouter

router = ApiRouter()
router.register("keys", ApiKeyViewSet, basename="apikey")

urlpatterns = router.urls

from vas_project.routers import ApiRouter
from webhooks.api import views

router = ApiRouter()
router.register("webhooks", views.WebhookViewSet, basename="webhook")

urlpatterns = router.urls

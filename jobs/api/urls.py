from jobs.api import views
from vas_project.routers import ApiRouter

router = ApiRouter()
router.register("jobs", views.JobViewSet, basename="job")

urlpatterns = router.urls

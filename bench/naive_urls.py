"""A naive snapshot list, as a first implementation would write it: a plain ModelViewSet with a
ModelSerializer over all fields (image and thumbnail bytes included, base64 in JSON).

Served only by the API benchmark (bench/api_load.py), at /naive/snapshots/, beside the product's routes.
"""

from django.urls import include, path
from rest_framework import serializers, viewsets
from rest_framework.routers import SimpleRouter

from snapshots.models import Snapshot


class NaiveSnapshotSerializer(serializers.ModelSerializer[Snapshot]):
    class Meta:
        model = Snapshot
        fields = "__all__"


class NaiveSnapshotViewSet(viewsets.ModelViewSet[Snapshot]):
    queryset = Snapshot.objects.all()
    serializer_class = NaiveSnapshotSerializer


router = SimpleRouter()
router.register("naive/snapshots", NaiveSnapshotViewSet, basename="naive-snapshot")

urlpatterns = [path("", include("vas_project.urls")), *router.urls]

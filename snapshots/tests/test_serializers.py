"""The snapshot serializers write their answer out by hand for speed; it must stay DRF's answer."""

import pytest
from rest_framework import serializers
from rest_framework.test import APIRequestFactory

from snapshots import selectors
from snapshots.api.serializers import SnapshotImageDataSerializer, SnapshotSerializer
from snapshots.tests.factories import make_snapshot

pytestmark = pytest.mark.django_db


def drf_field_by_field(serializer: serializers.Serializer, snapshot) -> dict:
    return dict(serializers.Serializer.to_representation(serializer, snapshot))


@pytest.mark.parametrize("time_zone", ["UTC", "Europe/Berlin"])
def test_metadata_matches_drfs_field_by_field_answer(device, settings, time_zone):
    settings.TIME_ZONE = time_zone
    snapshot = selectors.snapshot_metadata_queryset().get(pk=make_snapshot(device, trigger="admin").pk)
    context = {"request": APIRequestFactory().get("/api/snapshots/")}
    serializer = SnapshotSerializer(context=context)
    assert serializer.to_representation(snapshot) == drf_field_by_field(serializer, snapshot)


@pytest.mark.parametrize("time_zone", ["UTC", "America/New_York"])
def test_a_listed_row_matches_drfs_answer_for_the_snapshot(device, settings, time_zone):
    settings.TIME_ZONE = time_zone
    snapshot = make_snapshot(device, trigger="schedule")
    row = selectors.snapshot_list_queryset().get(pk=snapshot.pk)
    context = {"request": APIRequestFactory().get("/api/snapshots/")}
    names = selectors.device_names(device_ids=[row.device_id])
    from_row = SnapshotSerializer(context={**context, "device_names": names}).to_representation(row)
    serializer = SnapshotSerializer(context=context)
    assert from_row == drf_field_by_field(serializer, selectors.snapshot_metadata_queryset().get(pk=snapshot.pk))


def test_image_data_matches_drfs_field_by_field_answer(device):
    snapshot = make_snapshot(device)
    serializer = SnapshotImageDataSerializer(context={"image_bytes": bytes(snapshot.image)})
    answer = serializer.to_representation(snapshot)
    assert answer == drf_field_by_field(serializer, snapshot)
    assert answer["image_data"] and answer["urls"]["image"] == f"/api/snapshots/{snapshot.pk}/image.jpg"


def test_a_page_of_snapshots_each_carry_their_own_id(device):
    snapshots = [make_snapshot(device) for _ in range(3)]
    rows = SnapshotSerializer(snapshots, many=True).data
    assert [row["id"] for row in rows] == [str(s.pk) for s in snapshots]
    assert [row["urls"]["self"] for row in rows] == [f"/api/snapshots/{s.pk}" for s in snapshots]


def test_a_listed_row_whose_camera_is_gone_has_an_empty_name(device):
    snapshot = make_snapshot(device)
    row = selectors.snapshot_list_queryset().get(pk=snapshot.pk)
    answer = SnapshotSerializer(context={"device_names": {}}).to_representation(row)
    assert answer["device"] == {"id": str(device.pk), "name": ""}
    assert answer["id"] == str(snapshot.pk)

"""Cache backends of our own."""

from django.core.cache.backends.filebased import FileBasedCache


class BoundedFileBasedCache(FileBasedCache):
    """Django's file cache for a store whose keys are few and known (a handful per camera).

    Django's file cache lists its whole directory on every write to decide whether to cull;
    the live store writes every camera's keyframe and session every second or two, and
    never holds more than a few files per camera, so it skips that.
    """

    def _cull(self) -> None:
        return None

"""The product's settings with one extra route: the naive snapshot list the API benchmark compares against."""

from vas_project.settings import *  # noqa: F403

ROOT_URLCONF = "bench.naive_urls"

"""What the benchmarks share: percentiles, the benchmark database and the production-mode environment."""

import os

BENCH_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/vas_bench"
# DEBUG off, as in production; the keys are fixed so the benchmark process can sign tokens the server accepts.
PRODUCTION_ENV = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "vas-bench-secret-key-not-for-production-0123456789abcdef",
    "VAS_ENCRYPTION_KEYS": "dmFzLWJlbmNoLWtleS1ub3QtZm9yLXByb2R1Y3Rpb24=",
    "DJANGO_SECURE_SSL_REDIRECT": "false",
    "DJANGO_SECURE_HSTS_SECONDS": "0",
    "VAS_LOG_LEVEL": "WARNING",
}


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile of values (fraction 0.5 for p50)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def database_url() -> str:
    return os.getenv("BENCH_DATABASE_URL", BENCH_DATABASE_URL)

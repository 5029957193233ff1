FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# No system ffmpeg: cameras are read with PyAV, whose wheel brings FFmpeg's libraries.
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
RUN DJANGO_DEBUG=true python manage.py collectstatic --no-input \
    && useradd --system --uid 1000 --user-group --no-create-home vas \
    && mkdir /exports /metrics \
    && chown -R vas /app /exports /metrics
USER 1000:1000

EXPOSE 8000
CMD ["sh", "-c", "export PROMETHEUS_MULTIPROC_DIR=${PROMETHEUS_MULTIPROC_DIR:-/tmp/vas-metrics} && python manage.py migrate --no-input && exec gunicorn vas_project.wsgi:application --bind 0.0.0.0:8000 --workers ${GUNICORN_WORKERS:-3} --timeout 60"]

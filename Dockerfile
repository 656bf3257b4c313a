# The smbselect service image. Untested here: the development machine has no Docker engine.
#
#   docker build -t smbselect .
#   docker run -p 8000:8000 -v smbselect-data:/data smbselect
#
# Build stage: turn the project and its dependencies into wheels, so the runtime image gets an
# installed package (static files and templates as package data, as in any other install) and no
# build tooling.
FROM python:3.11-slim AS build
WORKDIR /src
COPY . .
RUN pip wheel --no-cache-dir --disable-pip-version-check --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    SMBSELECT_DATA_DIR=/data

# /data belongs to the service user before VOLUME, so a new named volume starts out writable
# by it (a bind mount keeps the host's ownership: give it to uid 10001).
RUN groupadd --system --gid 10001 smbselect \
 && useradd --system --uid 10001 --gid smbselect --home-dir /home/smbselect --create-home \
        --shell /usr/sbin/nologin smbselect \
 && mkdir -p /data \
 && chown smbselect:smbselect /data

RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links /wheels smbselect

USER smbselect
# The working directory is the volume: the default SQLite URL (a file relative to the working
# directory) then lands in /data too, when SMBSELECT_DATABASE_URL is not set.
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000

# slim has no curl; Python's urllib is enough (any error or non-2xx status exits non-zero).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

CMD ["smbselect", "serve", "--host", "0.0.0.0", "--port", "8000"]

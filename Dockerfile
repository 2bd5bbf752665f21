# One image for every Vitrine process. The command picks the process, for
# example `python -m services.ingest` or `python -m services.engagement.worker`;
# docker-compose.yml and deploy/k8s/ set it per service.
#
# No ffmpeg or image libraries from apt: the PyAV and Pillow wheels bundle the
# native libraries they link against.

FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src

# setuptools reads README.md for the package metadata, so it is copied too.
COPY pyproject.toml README.md ./
COPY shared/ shared/
COPY services/ services/
COPY deploy/ deploy/

# Only the runtime dependencies: the `local` and `test` extras stay out.
RUN pip install --prefix=/install .


FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    VITRINE_HTTP_HOST=0.0.0.0 \
    VITRINE_MEDIA_DIR=/var/lib/vitrine/media

# A fixed numeric UID lets Kubernetes verify runAsNonRoot without a name lookup.
RUN groupadd --system --gid 10001 vitrine \
    && useradd --system --uid 10001 --gid vitrine --no-create-home \
        --home-dir /var/lib/vitrine --shell /usr/sbin/nologin vitrine \
    && mkdir -p /var/lib/vitrine/media \
    && chown -R vitrine:vitrine /var/lib/vitrine

COPY --from=build /install /usr/local

# The working directory is writable because the faust worker creates its data
# directory relative to it.
WORKDIR /var/lib/vitrine
USER 10001:10001

# A named volume mounted here starts out owned by the vitrine user, because
# Docker copies the ownership of the image directory into an empty volume.
VOLUME ["/var/lib/vitrine/media"]

# ingest, feed, engagement, commerce, engagement worker metrics
EXPOSE 8101 8102 8103 8104 8105

CMD ["python", "-c", "raise SystemExit('vitrine: set the command to a process, e.g. python -m services.ingest')"]

# Release Tracker as a service: `tracker run` polls the configured sources on their intervals.
#   docker build -t release-tracker .
#   docker run -d --name tracker -v tracker-data:/data -v "$PWD/config:/config:ro" release-tracker
# The catalog is a SQLite file in the /data volume (point `database:` at PostgreSQL for shared use);
# the config is mounted read-only at /config/tracker.yaml. Secrets come from environment variables or *_FILE.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY tracker ./tracker
RUN pip install --no-cache-dir --prefix=/install '.[postgres]'

FROM python:3.11-slim
RUN groupadd --system tracker && useradd --system --gid tracker --home-dir /data --shell /usr/sbin/nologin tracker \
    && mkdir -p /data /config && chown tracker:tracker /data
COPY --from=build /install /usr/local
ENV TRACKER_CONFIG=/config/tracker.yaml \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /data
VOLUME ["/data"]
USER tracker
# Healthy when the config loads and the database answers (it reports the sources' state).
HEALTHCHECK --interval=5m --timeout=30s --start-period=1m --retries=3 \
    CMD tracker health > /dev/null || exit 1
STOPSIGNAL SIGTERM
ENTRYPOINT ["tracker"]
CMD ["run"]

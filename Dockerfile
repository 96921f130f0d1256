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
# The web face (dashboard, /api/v1, /metrics): set `web: {listen: "0.0.0.0:8080"}` in the mounted config, and
# publish the port (docker run -p 127.0.0.1:8080:8080 ...). Healthy when /readyz answers 200: the database answers
# and polling is not stalled. Without `web:` in the config, nothing listens: use `tracker health` instead
# (HEALTHCHECK CMD tracker health > /dev/null || exit 1).
EXPOSE 8080
HEALTHCHECK --interval=1m --timeout=10s --start-period=2m --retries=3 \
    CMD python -c "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/readyz', timeout=8).status != 200)"
STOPSIGNAL SIGTERM
ENTRYPOINT ["tracker"]
CMD ["run"]

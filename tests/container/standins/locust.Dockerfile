# TEST SCAFFOLDING (tests/container): a stand-in for locustio/locust, built offline FROM the
# python:3.11-slim stand-in (whose pip reads only its wheelhouse). Like the real image:
# locust on PATH, an unprivileged user `locust` (uid 1000), ENTRYPOINT locust.
FROM python:3.11-slim
ARG LOCUST_VERSION
RUN pip install --no-cache-dir "locust==${LOCUST_VERSION}" \
    && useradd --create-home --uid 1000 locust
USER locust
WORKDIR /home/locust
EXPOSE 8089 5557
ENTRYPOINT ["locust"]

# syntax=docker/dockerfile:1
# bedrockctl gateway image: `bedrockctl serve` (gateway, console and, in time, the scheduled jobs) for one host or
# a fleet of replicas over one PostgreSQL. See docs/deploy.md.
#
#   docker build -t bedrockctl:0.1.0 .
#   podman build --format docker -t bedrockctl:0.1.0 .
#
# PYTHON_IMAGE: any Debian-based Python 3.11+ image with the venv module (pin it by digest in your registry).
# Behind a TLS-intercepting proxy, hand pip its CA bundle as a build secret:
#   docker build --secret id=pip_cert,src=/etc/ssl/certs/ca-certificates.crt -t bedrockctl:0.1.0 .
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- builder: the bedrockctl wheel and a wheel of every dependency, pinned by constraints.txt, installed from those
# wheels alone (--no-index) into the virtual environment the runtime stage copies ----
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DEFAULT_TIMEOUT=120 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY src ./src
RUN --mount=type=secret,id=pip_cert \
    if [ -s /run/secrets/pip_cert ]; then export PIP_CERT=/run/secrets/pip_cert; fi \
    && python3 -m venv /opt/build \
    && /opt/build/bin/pip wheel --wheel-dir /wheels -c constraints.txt ".[server,postgres,redis,analytics]"
# pip and setuptools leave the environment afterwards: nothing installs at run time
RUN python3 -m venv /opt/bedrockctl \
    && /opt/bedrockctl/bin/pip install --no-index --find-links /wheels -c constraints.txt \
       "bedrockctl[server,postgres,redis,analytics]" \
    && /opt/bedrockctl/bin/pip uninstall --yes pip setuptools

# ---- runtime: that virtual environment, run as a fixed non-root user ----
FROM ${PYTHON_IMAGE} AS runtime
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="bedrockctl" \
      org.opencontainers.image.description="The control plane around Amazon Bedrock and SageMaker: a budget-enforcing gateway, console and CLI." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.documentation="docs/deploy.md"

# Every path the process writes is a volume (an emptyDir in Kubernetes, a tmpfs or volume with --read-only), so
# the root file system can be read-only: the data directory (SQLite store, local CA, the master-secret file when
# no BEDROCKCTL_GATEWAY_SECRET is set) and the temporary directory.
ENV PATH=/opt/bedrockctl/bin:${PATH} \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    BEDROCKCTL_DATA_DIR=/var/lib/bedrockctl \
    TMPDIR=/tmp \
    HOME=/var/lib/bedrockctl \
    BEDROCKCTL_HEALTHCHECK_URL=http://127.0.0.1:8080/readyz

RUN groupadd --system --gid 10001 bedrockctl \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/bedrockctl --no-create-home \
       --shell /usr/sbin/nologin bedrockctl \
    && install -d -o 10001 -g 10001 -m 0700 /var/lib/bedrockctl \
    && install -d -m 0755 /etc/bedrockctl

# The same base image, so the environment's interpreter links resolve; no pip, no wheels, no compiler in this stage.
COPY --from=builder /opt/bedrockctl /opt/bedrockctl
RUN bedrockctl --version

VOLUME ["/var/lib/bedrockctl", "/tmp"]
WORKDIR /var/lib/bedrockctl
USER 10001:10001
EXPOSE 8080

# /readyz answers 200 once the store answers and the price book is loaded (no curl in the image: Python asks).
# Serving on another port (--port): set BEDROCKCTL_HEALTHCHECK_URL to match.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python3", "-c", "import os, sys, urllib.request; sys.exit(urllib.request.urlopen(os.environ['BEDROCKCTL_HEALTHCHECK_URL'], timeout=4).status != 200)"]

ENTRYPOINT ["bedrockctl"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]

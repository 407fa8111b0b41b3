# The `healthcode` image: every service, the gateway and the one-off commands (migrate, reseal,
# verify-audit) by subcommand, e.g. a pod's `args: ["identity"]`.
#
#   docker build -t healthcode:dev .
#
# It runs as uid/gid 10001 with a read-only root filesystem: /tmp (an emptyDir in k8s/) is the
# only place it writes, so bytecode is compiled at build time and HOME points at /tmp.

# --- builder: a virtual environment with the project and its dependencies installed ---------
FROM python:3.11-slim AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The same path as in the runtime stage: a venv's scripts name their interpreter by absolute path.
RUN python -m venv /opt/healthcode

WORKDIR /src
# Dependencies first, from pyproject.toml alone, so a code change reuses this layer.
COPY pyproject.toml README.md ./
RUN mkdir -p cli services gateway protos/healthcode \
    && /opt/healthcode/bin/pip install . \
    && /opt/healthcode/bin/pip uninstall --yes healthcode

COPY protos ./protos
COPY services ./services
COPY gateway ./gateway
COPY cli ./cli
# A wheel of the project (not an editable install: /src does not exist at runtime), then every
# module compiled, since the running container cannot write __pycache__.
RUN /opt/healthcode/bin/pip install --no-deps . \
    && /opt/healthcode/bin/python -m compileall -q /opt/healthcode/lib

# --- runtime: the interpreter, the venv and a non-root user; no compilers, no pip cache ---------
FROM python:3.11-slim

RUN groupadd --system --gid 10001 healthcode \
    && useradd --system --uid 10001 --gid 10001 --home-dir /tmp --no-create-home \
       --shell /usr/sbin/nologin healthcode

COPY --from=builder /opt/healthcode /opt/healthcode

ENV PATH=/opt/healthcode/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp

# Numeric, so Kubernetes can check runAsNonRoot without reading /etc/passwd.
USER 10001:10001
WORKDIR /tmp

# gateway gRPC and HTTP, the four services, metrics.
EXPOSE 50050 8080 50051 50052 50053 50054 9464

# Exec form: `healthcode` is PID 1 and receives SIGTERM itself, then drains (HEALTHCODE_GRACE_SECONDS).
ENTRYPOINT ["healthcode"]
CMD ["--help"]

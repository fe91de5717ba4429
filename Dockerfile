# Production image: `milestones serve` as a non-root user, health-checked.
# The base image is pinned by digest (python:3.11-slim, multi-arch index) and the Python
# packages by constraints.txt: the same build twice gives the same image. Refresh the digest
# with `docker buildx imagetools inspect python:3.11-slim` when updating.
ARG PYTHON_IMAGE=python:3.11-slim@sha256:9c900dea9e8fb7e16277c179b555cc72d29a352dbc33cff48ad5a0412fd5bfc7
FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
COPY pyproject.toml README.md alembic.ini constraints.txt ./
COPY app ./app
COPY connectors ./connectors
COPY crm ./crm
COPY mappings ./mappings
COPY migrations ./migrations
RUN pip wheel --no-cache-dir --wheel-dir /wheels -c constraints.txt .

FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MILESTONES_HOST=0.0.0.0 \
    MILESTONES_PORT=8000 \
    MILESTONES_DATA_DIR=/var/lib/milestones
RUN useradd --system --uid 10001 --home-dir /var/lib/milestones --create-home milestones
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER milestones
WORKDIR /var/lib/milestones
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"
CMD ["milestones", "serve"]

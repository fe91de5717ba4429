# Production image: `milestones serve` as a non-root user, health-checked.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md alembic.ini constraints.txt ./
COPY app ./app
COPY connectors ./connectors
COPY crm ./crm
COPY mappings ./mappings
COPY migrations ./migrations
RUN pip wheel --no-cache-dir --wheel-dir /wheels -c constraints.txt .

FROM python:3.11-slim
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

# One image for every service of docker-compose.yml (web, poller, demo, simulator): the same
# code, another command. Each compose service defines its own health check, so the image has
# none: a web probe baked in here would mark the poller unhealthy.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN useradd --create-home --uid 10001 nowplaying
# /og.png rasterises the SVG card with resvg, which draws text only with fonts the system
# has; the slim image has none. DejaVu Sans is the card's sans-serif fallback (about 1 MB).
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app

# The locked runtime set first (its own layer, rebuilt only when the lock changes), every
# file checked against its hash; then the project itself, without dependencies, built by the
# locked setuptools. The lock is universal: the same file serves amd64 and arm64.
COPY requirements/runtime.txt requirements/runtime.txt
RUN pip install --require-hashes -r requirements/runtime.txt
# .dockerignore keeps .env, .venv, tests and docs out of the context.
COPY . .
RUN pip install --no-deps --no-build-isolation . && rm -rf build *.egg-info

USER nowplaying
EXPOSE 8000
CMD ["python", "-m", "web", "--host", "0.0.0.0"]

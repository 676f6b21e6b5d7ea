# Runtime image for the poller and the web app (the same image, another command).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN useradd --create-home --uid 10001 nowplaying
WORKDIR /app

# Installed the way the README installs it: pip from pyproject.toml, runtime deps only.
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY poller ./poller
COPY web ./web
COPY nowplaying ./nowplaying
RUN pip install .

USER nowplaying
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)" || exit 1
CMD ["python", "-m", "web", "--host", "0.0.0.0"]

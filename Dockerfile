# The tagging service with the embedded model baked in at build time; runs offline.
#
#   make model            # first, so models/embedded exists (the image copies it)
#   docker build -t newsroom-tagger .
#   docker run --rm -p 8000:8000 newsroom-tagger
#
# Settings are TAGGER_* environment variables (README's configuration table), e.g.
#   docker run -e TAGGER_WORKERS=4 -e TAGGER_API_KEYS=secret -p 8000:8000 newsroom-tagger
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    # the model is in the image: never reach for a hub at run time
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1

WORKDIR /app

# 1. torch first, the CPU build, pinned: installing the package first would pull a CUDA build (GBs).
#    Its own layer, so code changes do not re-download it.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
RUN pip install --index-url "${TORCH_INDEX_URL}" torch==2.13.0

# 2. The package and its dependencies (the torch above satisfies its torch range).
COPY pyproject.toml README.md ./
COPY service ./service
RUN pip install .

# 3. The server settings and the embedded model, baked in.
COPY gunicorn.conf.py ./
COPY models/embedded ./models/embedded

# Listen on every interface inside the container; the model is the folder copied above.
ENV TAGGER_MODEL=/app/models/embedded \
    TAGGER_HOST=0.0.0.0 \
    TAGGER_PORT=8000

# Not root.
RUN useradd --create-home --uid 10001 tagger
USER tagger

EXPOSE 8000
# Ready (not just alive): the model is loaded, warmed up and self-tested.
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4)"

# gunicorn handles SIGTERM: stops accepting, finishes in-flight requests, exits 0. exec form, so it is PID 1
# and gets the signal.
CMD ["gunicorn", "-c", "gunicorn.conf.py", "service.wsgi:app"]

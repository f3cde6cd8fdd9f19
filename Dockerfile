# ForestGaps REST inference service, CPU only.
#   docker build -t forestgaps-serve .
#   docker run -p 8000:8000 -e FORESTGAPS_TOKEN="$(openssl rand -hex 32)" \
#       -e FORESTGAPS_ALLOWED_HOSTS=gaps.example.org \
#       -v /path/to/model:/models/mine:ro forestgaps-serve \
#       forestgaps serve --host 0.0.0.0 --model /models/mine
# The container listens on 0.0.0.0, so the service needs a token: it refuses to start
# without FORESTGAPS_TOKEN (passed at run time, never built into the image), and every
# request but GET /health must send "Authorization: Bearer <token>". Clients may name the
# service by loopback names (localhost through -p) and by the names listed in
# FORESTGAPS_ALLOWED_HOSTS (comma separated; Host and Origin are checked).
# Without --model the bundled resources/models/default is served when present; otherwise
# the service starts, /health says no model is loaded and /predict answers 503.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# GDAL's ogr2ogr makes the GeoJSON downloads from the GeoPackages the engine writes.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gdal-bin \
    && rm -rf /var/lib/apt/lists/*

# CPU wheels of torch: the default index ships the CUDA build (several GB).
RUN pip install "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu

WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
COPY forestgaps_engine ./forestgaps_engine
COPY configs ./configs
COPY resources ./resources
# Editable: the engine finds configs/ and resources/models/default beside the package.
RUN pip install -e ".[torch,serve,export]"

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin forestgaps
USER forestgaps
# ONNX exports and backend calibration are cached per model in the user's folder.
ENV FORESTGAPS_CACHE_DIR=/home/forestgaps/.cache/forestgaps

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)" || exit 1

CMD ["forestgaps", "serve", "--host", "0.0.0.0", "--port", "8000"]

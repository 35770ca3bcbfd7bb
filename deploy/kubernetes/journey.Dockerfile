# The journey runner: `lookout journey run|check` with Debian's Chromium for browser steps
# (Playwright drives it; no browser is downloaded). Build from the repository root:
#   docker build -f deploy/kubernetes/journey.Dockerfile -t lookout-journey .
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv chromium fonts-dejavu-core ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY . /src
RUN python3 -m venv /opt/lookout \
 && /opt/lookout/bin/pip install --no-cache-dir /src/agent "/src[browser]" \
 && rm -rf /src
ENV PATH=/opt/lookout/bin:$PATH LOOKOUT_CHROMIUM=/usr/bin/chromium
USER 65534
ENTRYPOINT ["lookout"]

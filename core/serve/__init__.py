"""Our own OpenAI-compatible HTTP server over a local model (+ LoRA / P-Tuning adapter).

    python -m core.serve --base_model "$(python -m core.toy build llama)" --port 8000

`create_app(engine, api_key=None, model_name=...)` builds the app (core.serve.app); `Engine` (core.serve.engine)
batches concurrent requests into shared generate calls. Needs the `server` extra (fastapi, uvicorn).
"""

from core.serve.engine import Engine
from core.serve.jobs import Params

__all__ = ["Engine", "Params", "create_app"]


def create_app(*args, **kwargs):
    """See core.serve.app.create_app (imported lazily: fastapi loads only when a server is built)."""
    from core.serve.app import create_app as _create_app

    return _create_app(*args, **kwargs)

"""The real model, loaded once per session (the integration suite's fixture)."""
from tests.integration.conftest import embedder  # noqa: F401  (fixture)

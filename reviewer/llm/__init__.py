"""Model access. The only package in the suite that talks to litellm."""
from reviewer.llm.client import (
    ModelAuthError, ModelClient, ModelError, ModelRequestError, ModelResponse, ModelUnavailable,
    StructuredOutputError, default_model,
)
from reviewer.llm.embedded import EmbeddedModelError
from reviewer.llm.structured import JSONExtractionError, extract_json, schema_for
from reviewer.llm.usage import CallUsage, UsageLog, summarize

__all__ = [
    "CallUsage", "EmbeddedModelError", "JSONExtractionError", "ModelAuthError", "ModelClient", "ModelError",
    "ModelRequestError", "ModelResponse", "ModelUnavailable", "StructuredOutputError", "UsageLog",
    "default_model", "extract_json", "schema_for", "summarize",
]

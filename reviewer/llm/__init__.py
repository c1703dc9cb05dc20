"""Model access. The only package in the suite that talks to litellm."""
from .client import ModelClient, ModelError, ModelResponse, StructuredOutputError, default_model
from .embedded import EmbeddedModelError
from .structured import JSONExtractionError, extract_json, schema_for
from .usage import CallUsage, UsageLog, summarize

__all__ = [
    "CallUsage", "EmbeddedModelError", "JSONExtractionError", "ModelClient", "ModelError",
    "ModelResponse", "StructuredOutputError", "UsageLog", "default_model", "extract_json",
    "schema_for", "summarize",
]

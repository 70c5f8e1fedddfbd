"""framing-pipeline: framing devices and propaganda techniques in news text, with exact offsets."""

from pipeline.document import Document, OffsetError, Sentence, Span, stable_id

__version__ = "0.1.0"

__all__ = ["Document", "OffsetError", "Sentence", "Span", "stable_id", "__version__"]

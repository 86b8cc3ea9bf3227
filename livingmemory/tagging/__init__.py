"""Tagging: people, places, organisations, dates and topics in transcripts.

Importing this package registers the spaCy components (``lm_lemmagen``, ``lm_dates``,
``lm_persons``, ``lm_organisations``, ``lm_sl_names``) so saved pipelines load with ``spacy.load``.
"""

from livingmemory.tagging import components, names  # noqa: F401  (registers factories)
from livingmemory.tagging.base import LanguagePipeline, pipeline_for, pipeline_version

__all__ = ["LanguagePipeline", "pipeline_for", "pipeline_version"]

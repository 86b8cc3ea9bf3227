"""Transcribe: the pipeline, quality flags, models and the engines (a new engine goes in
engines/)."""

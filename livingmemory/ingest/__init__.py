"""Add: recordings in with their metadata, consent and languages; copies and checksums."""

"""Who speaks: diarization, turns named after the interview's people, voices."""

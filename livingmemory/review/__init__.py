"""Review: corrections kept as revisions, the queue, redactions, the volunteers' workspace."""

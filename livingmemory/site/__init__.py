"""Publish and serve: the public database, the Datasette plug-in, the public site and the workspace
pages."""

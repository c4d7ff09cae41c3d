"""Datasette on the archive: metadata, canned queries and the map of the front, as data files and one plugin."""

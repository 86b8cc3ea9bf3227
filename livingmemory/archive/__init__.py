"""The ground floor: the schema and its migrations, the Archive, audio, claims and fixity."""

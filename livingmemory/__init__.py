"""Living Memory: a toolkit for oral-history archives.

Record elderly residents telling their stories, transcribe them, tag who/where/when,
and publish them for researchers and schools. Everything the ``livingmemory`` command does
is available from Python; the CLI is a thin layer over these modules.
"""

__version__ = "0.1.0"

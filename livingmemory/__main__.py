from livingmemory.cli import app

# Guarded: Dask's worker processes (transcribe --cluster local) are spawned and import the
# main module again; they must not run the CLI.
if __name__ == "__main__":
    app(prog_name="livingmemory")

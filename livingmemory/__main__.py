from livingmemory.cli import app

app(prog_name="livingmemory")

from tagreg.cli import run

run()

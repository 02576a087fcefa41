from tagreg.cli import main

main(prog_name="tagreg")

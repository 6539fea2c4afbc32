from opendvi.cli import main

main()

from digitizer.cli import main

main()

from bandprint.cli import main

main()

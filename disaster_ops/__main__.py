from disaster_ops.cli import main

main()

import gc

gc.disable()  # no collection during the start's imports: what they make lives as long as the process (cli.main)

from market_mcp.cli import main  # noqa: E402

if __name__ == "__main__":
    main()

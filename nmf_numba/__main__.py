"""``python -m nmf_numba``: the command line of :mod:`nmf_numba.cli`."""


def main(argv=None):
    from .cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    raise SystemExit(main())

"""Numba kernels.  They import only numpy, numba and :mod:`nmf_numba._numba`; they never validate,
never branch on user strings and write only into arrays they are given."""

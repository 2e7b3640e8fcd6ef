"""A run's dataset: where its atomic files are, and the checks run before training.

:mod:`.roots` finds the atomic files, :mod:`.checks` checks the splits; importing and downloading
the papers' splits is :mod:`recbole_spec.data_import`.
"""

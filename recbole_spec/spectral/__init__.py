"""Training-free spectral filters on the user-item graph (GF-CF, BSPM).

:mod:`~recbole_spec.spectral.lowpass` holds the normalised interaction matrix, its truncated SVD
and the two filters built from them; :mod:`~recbole_spec.spectral.ode` the fixed-grid solvers
BSPM runs them through.
"""
